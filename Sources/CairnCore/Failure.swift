/// What went wrong, in the terms the CLI maps to exit codes. Every module's error type
/// carries one of these; only the CLI turns them into numbers.
public enum FailureCategory: String, Sendable, CaseIterable {
    /// The command line was wrong.
    case usage
    /// A path given by the user does not exist or cannot be read.
    case inputNotFound
    /// The repository does not exist or is not a Cairn repository.
    case repositoryNotFound
    /// No key in the repository opens with the given password.
    case wrongPassword
    /// Another process holds a conflicting lock.
    case locked
    /// Stored data failed verification (authentication, hash, structure).
    case integrity
    /// The restore target is unusable (a file, or existing files without --force).
    case targetConflict
    /// The disk or quota is full.
    case noSpace
    /// A Redis server refused, failed, or could not be reached.
    case redis
    /// A snapshot selection matched nothing.
    case noMatch
    /// Some files could not be read; the snapshot was still written.
    case partial
    /// Anything else: I/O errors, bugs.
    case failure
}

/// Implemented by each module's error type: a category for the exit code, a message that says
/// what happened, and a hint that says what to do.
public protocol CairnFailure: Error, CustomStringConvertible {
    var category: FailureCategory { get }
    var message: String { get }
    var hint: String? { get }
    var underlying: (any Error)? { get }
}

extension CairnFailure {
    public var description: String {
        var text = message
        if let underlying { text += ": \(underlying)" }
        if let hint { text += "\n  hint: \(hint)" }
        return text
    }
}
