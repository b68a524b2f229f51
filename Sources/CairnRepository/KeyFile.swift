import CairnCodec
import CairnCore
import Foundation

/// A `keys/ID` object: the master key wrapped by one password. Several key files can wrap the
/// same master key, so a repository can have several passwords.
public struct KeyFile: Codable, Sendable {
    public var created: Date
    public var hostname: String
    public var username: String
    public var wrapped: WrappedKey

    public init(created: Date, hostname: String, username: String, wrapped: WrappedKey) {
        self.created = created; self.hostname = hostname; self.username = username; self.wrapped = wrapped
    }
}

/// A key file and its name, as `cairn key list` shows it.
public struct KeyEntry: Sendable {
    public var id: KeyID
    public var file: KeyFile
    /// True for the key the current password opened.
    public var isCurrent: Bool
}
