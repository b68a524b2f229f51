import CairnBackends
import Foundation

/// A store whose listing gives some objects sizes of its own, as a damaged or hostile object
/// store's listing can; every other call, and every read, goes to `base`.
struct ForgedListingStore: ObjectStore {
    let base: any ObjectStore
    let sizes: [ObjectKey: Int64]

    var location: String { "forged+" + base.location }
    var spoolDirectory: String { base.spoolDirectory }

    func list(_ kind: ObjectKind) throws -> [ObjectInfo] {
        try base.list(kind).map { ObjectInfo(key: $0.key, size: sizes[$0.key] ?? $0.size, modified: $0.modified) }
    }

    func put(_ key: ObjectKey, bytes: [UInt8]) throws { try base.put(key, bytes: bytes) }
    func put(_ key: ObjectKey, contentsOf path: String) throws { try base.put(key, contentsOf: path) }
    func get(_ key: ObjectKey) throws -> [UInt8] { try base.get(key) }
    func get(_ key: ObjectKey, offset: Int64, length: Int) throws -> [UInt8] { try base.get(key, offset: offset, length: length) }
    func stat(_ key: ObjectKey) throws -> ObjectInfo? { try base.stat(key) }
    func delete(_ key: ObjectKey) throws { try base.delete(key) }
}
