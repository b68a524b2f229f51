/// A repository lock as a writer sees it: something to ask, right before each commit point (an
/// index object, a snapshot), whether the lock is still held. `RepositoryLock` implements it; the
/// engine and the blob writer depend on this alone.
///
/// Implementers guarantee that `verify()` throws (category `.locked`) when the lock's object is
/// no longer in the store, or when it could not be kept fresh, so that another process may have
/// judged it stale and deleted what the holder wrote; and that it returns otherwise.
public protocol VerifiableLock: Sendable {
    /// Returns when the lock is still held; throws, and the caller commits nothing, when not.
    func verify() throws
}
