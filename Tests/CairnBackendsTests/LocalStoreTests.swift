import CairnBackends
import CairnCore
import Foundation
import Testing

@Suite struct LocalStoreTests {
    func makeStore() throws -> (LocalStore, String) {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-store-\(UUID().uuidString)").path
        let store = LocalStore(root: root)
        try store.create()
        return (store, root)
    }

    @Test func putGetListStatDelete() throws {
        let (store, root) = try makeStore()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let key = ObjectKey(.data, String(repeating: "ab", count: 32))
        try store.put(key, bytes: Array("hello pack".utf8))
        #expect(try store.get(key) == Array("hello pack".utf8))
        #expect(try store.get(key, offset: 6, length: 4) == Array("pack".utf8))
        #expect(try store.stat(key)?.size == 10)
        #expect(try store.list(.data).map(\.key) == [key])
        #expect(FileManager.default.fileExists(atPath: root + "/data/ab/" + key.name))
        let mode = try FileManager.default.attributesOfItem(atPath: root + "/data/ab/" + key.name)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        try store.delete(key)
        try store.delete(key)
        #expect(try store.stat(key) == nil)
        #expect(throws: StoreError.self) { try store.get(key) }
    }

    @Test func putFromFileMovesItIntoPlaceAndCreateRefusesNonEmpty() throws {
        let (store, root) = try makeStore()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let spool = store.spoolDirectory + "/x"
        try Data("spooled".utf8).write(to: URL(fileURLWithPath: spool))
        try store.put(ObjectKey(.index, "aa"), contentsOf: spool)
        #expect(!FileManager.default.fileExists(atPath: spool))
        #expect(try store.get(ObjectKey(.index, "aa")) == Array("spooled".utf8))
        #expect(throws: StoreError.self) { try LocalStore(root: root).create() }
    }

    /// An interrupted create (or init, or a mirror stopped before its config) leaves empty folders:
    /// creating again works. A file anywhere in them, or beside them, is refused.
    @Test func createAgainOverAnEmptyLayoutButNeverOverFiles() throws {
        let (store, root) = try makeStore()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try store.create()
        #expect(FileManager.default.createFile(atPath: root + "/data/7f/stray", contents: Data([1])))
        #expect(throws: StoreError.self) { try store.create() }
        unlink(root + "/data/7f/stray")
        try store.create()
        #expect(FileManager.default.createFile(atPath: root + "/notes.txt", contents: Data([1])))
        #expect(throws: StoreError.self) { try store.create() }
        unlink(root + "/notes.txt")
        try store.put(.config, bytes: [1])
        #expect(throws: StoreError.self) { try store.create() }
    }

    @Test func rangeBeyondTheEndIsAnIntegrityError() throws {
        let (store, root) = try makeStore()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try store.put(ObjectKey(.snapshots, "s"), bytes: [1, 2, 3])
        do {
            _ = try store.get(ObjectKey(.snapshots, "s"), offset: 2, length: 5)
            Issue.record("a short read must throw")
        } catch let error as StoreError {
            #expect(error.category == .integrity)
        }
    }
}
