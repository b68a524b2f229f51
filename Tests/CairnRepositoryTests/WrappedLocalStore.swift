import CairnBackends
import Foundation

/// A local store that tests subclass to watch or change what the layers above ask of a store:
/// every call goes to `inner` unless a subclass overrides it.
class WrappedLocalStore: ObjectStore, @unchecked Sendable {
    let inner: LocalStore

    init(root: String) { inner = LocalStore(root: root) }

    var readConcurrency: Int { 1 }
    var location: String { inner.location }
    var spoolDirectory: String { inner.spoolDirectory }
    func put(_ key: ObjectKey, bytes: [UInt8]) throws { try inner.put(key, bytes: bytes) }
    func put(_ key: ObjectKey, contentsOf path: String) throws { try inner.put(key, contentsOf: path) }
    func get(_ key: ObjectKey) throws -> [UInt8] { try inner.get(key) }
    func get(_ key: ObjectKey, offset: Int64, length: Int) throws -> [UInt8] { try inner.get(key, offset: offset, length: length) }
    func stat(_ key: ObjectKey) throws -> ObjectInfo? { try inner.stat(key) }
    func list(_ kind: ObjectKind) throws -> [ObjectInfo] { try inner.list(kind) }
    func delete(_ key: ObjectKey) throws { try inner.delete(key) }
    func prefetch(_ key: ObjectKey, offset: Int64, length: Int) {}
}
