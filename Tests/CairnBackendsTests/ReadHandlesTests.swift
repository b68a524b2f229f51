@testable import CairnBackends
import CairnCore
import Foundation
import Testing

/// Ranged reads of a local store keep packs open (`ReadHandles`): the bytes must be the object's
/// whatever the eviction, the threads and the deletions and replacements in between.
@Suite("Local store: open read descriptors")
struct ReadHandlesTests {
    static func content(_ number: Int, count: Int = 64 << 10) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ number &* 131 &+ $0 >> 9) }
    }

    @Test func manyThreadsOverFewDescriptorsReadTheRightBytes() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-handles-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let files = 12
        let contents = (0..<files).map { Self.content($0) }
        for number in 0..<files {
            try Data(contents[number]).write(to: URL(fileURLWithPath: root + "/\(number)"))
        }
        let handles = ReadHandles(capacity: 3)
        let wrong = Counter()
        DispatchQueue.concurrentPerform(iterations: 8) { thread in
            var state = UInt64(thread + 1)
            for _ in 0..<400 {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                let number = Int(state >> 33) % files, offset = Int(state >> 13) % (60 << 10)
                let bytes = try? handles.withDescriptor(root + "/\(number)", onOpenFailure: { StoreError.fromErrno($0, "open", path: "") }) { fd in
                    var out = [UInt8](repeating: 0, count: 1000)
                    let got = out.withUnsafeMutableBytes { pread(fd, $0.baseAddress, 1000, off_t(offset)) }
                    return got == 1000 ? out : []
                }
                if bytes != Array(contents[number][offset..<(offset + 1000)]) { wrong.add() }
            }
        }
        #expect(wrong.value == 0)
    }

    @Test func aDeletedOrReplacedObjectIsNotReadThroughAnOldDescriptor() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-store-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let store = LocalStore(root: root)
        try store.create()
        let key = ObjectKey(.index, "replaced")
        try store.put(key, bytes: Self.content(1, count: 4096))
        #expect(try store.get(key, offset: 100, length: 50) == Array(Self.content(1, count: 4096)[100..<150]))
        // Replaced under the same name (a repair rewrites an object): the new bytes are read.
        try store.put(key, bytes: Self.content(2, count: 4096))
        #expect(try store.get(key, offset: 100, length: 50) == Array(Self.content(2, count: 4096)[100..<150]))
        // Deleted: missing, not read from the descriptor kept open.
        try store.delete(key)
        #expect(throws: StoreError.self) { try store.get(key, offset: 100, length: 50) }
        // A prefetch never fails, even of what is not there.
        store.prefetch(key, offset: 0, length: 4096)
    }
}

/// A count that several threads add to.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func add() { lock.lock(); count += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
}
