import Dispatch
import Glibc
import Synchronization

/// SIGINT, SIGTERM and SIGHUP during work that stops cleanly when asked (a restore, which then
/// removes the file it was writing under a temporary name): the first signal is only noted, the
/// work sees `requested` at its next check and unwinds (lock released), and `runMain` then ends the
/// process by that signal, so the exit status is 128+N as without a handler. A second signal ends
/// the process at once. Outside `watching` (and `cleaningUp`), signals do what they always do.
enum Interruption {
    /// The signal received, 0 if none: process-wide, because a signal handler can reach nothing else.
    private static let received = Atomic<Int32>(0)

    static let signals = [SIGINT, SIGTERM, SIGHUP]

    /// True once one of `signals` came while `watching`.
    static var requested: Bool { received.load(ordering: .relaxed) != 0 }

    /// Runs `body` with the handlers installed (not for a signal this process was started
    /// ignoring, as under nohup or in a shell's background job).
    static func watching<T>(_ body: () throws -> T) rethrows -> T {
        _ = received.load(ordering: .relaxed)   // initialized here, never first in the handler
        var previous: [Int32: sigaction] = [:]
        for number in signals {
            var current = sigaction()
            sigaction(number, nil, &current)
            if unsafeBitCast(current.__sigaction_handler.sa_handler, to: Int.self) == unsafeBitCast(SIG_IGN, to: Int.self) { continue }
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { number in
                Interruption.received.store(number, ordering: .relaxed)
                var standard = sigaction()
                standard.__sigaction_handler.sa_handler = SIG_DFL
                sigaction(number, &standard, nil)
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = SA_RESTART
            sigaction(number, &action, nil)
            previous[number] = current
        }
        defer {
            for (number, var action) in previous { sigaction(number, &action, nil) }
        }
        return try body()
    }

    /// Runs `body`; a signal meanwhile runs `cleanup` (on another thread, while `body` may still be
    /// at work) and then ends the process by that signal. For work that does not stop when asked
    /// but would leave something outside the repository (a capture's hard links in the Redis data
    /// directory); what it left in the repository is for the next command (stale lock) and prune.
    static func cleaningUp<T>(with cleanup: @escaping @Sendable () -> Void, _ body: () throws -> T) rethrows -> T {
        try watching {
            let watcher = DispatchSource.makeTimerSource(queue: .global())
            watcher.schedule(deadline: .now(), repeating: .milliseconds(50))
            watcher.setEventHandler {
                guard requested else { return }
                cleanup()
                endIfRequested()
            }
            watcher.resume()
            defer { watcher.cancel() }
            // A signal the watcher had no time to act on (the work ended first; a backup then
            // commits nothing, see BackupRequest.shouldStop) still ends the process, cleaned up.
            do {
                let value = try body()
                if requested { cleanup(); endIfRequested() }
                return value
            } catch {
                if requested { cleanup(); endIfRequested() }
                throw error
            }
        }
    }

    /// Ends the process by the signal `watching` noted, if one came; returns otherwise.
    static func endIfRequested() {
        let number = received.load(ordering: .relaxed)
        guard number != 0 else { return }
        signal(number, SIG_DFL)
        // Dispatch's worker threads block signals; raise(3) signals the calling thread.
        var only = sigset_t()
        sigemptyset(&only)
        sigaddset(&only, number)
        pthread_sigmask(SIG_UNBLOCK, &only, nil)
        raise(number)
    }
}
