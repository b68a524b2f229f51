/// A store that can prepare an empty repository location: a folder layout, a Swift container,
/// an S3 bucket. `cairn init` calls it before writing the first object.
public protocol ObjectStoreCreating {
    /// Prepares the location. A local store refuses a non-empty folder; remote stores accept an
    /// existing container or bucket of their own.
    func create() throws
}

extension LocalStore: ObjectStoreCreating {}
extension SwiftStore: ObjectStoreCreating {}

