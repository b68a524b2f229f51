@testable import CairnRepository
import CairnCore
import Testing

@Suite("Index objects")
struct IndexObjectTests {
    /// A pack size past Int64 trapped while decoding the index.
    @Test(arguments: [UInt64(1) << 63, UInt64.max])
    func aPackSizeWithTheTopBitSetIsRefused(size: UInt64) {
        let object = PackFormatTests.indexObject(packSize: size, PackFormatTests.entry())
        let error = #expect(throws: RepositoryError.self) { try IndexObject.decode(object, id: PackFormatTests.index) }
        #expect(error?.category == .integrity)
        #expect(error?.message.contains("impossible size \(size)") == true, "\(error?.message ?? "")")
    }
}
