import Logging

/// Log lines to stderr as `cairn: warning: …`; the CLI is the only place logging is bootstrapped.
struct ConsoleLogHandler: LogHandler {
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        Console.error("cairn: \(event.level): \(event.message)")
    }
}

enum LoggingSetup {
    nonisolated(unsafe) private static var done = false

    static func logger(verbose: Bool) -> Logger {
        if !done {
            done = true
            LoggingSystem.bootstrap { _ in ConsoleLogHandler(logLevel: .trace) }
        }
        var logger = Logger(label: "cairn")
        logger.logLevel = verbose ? .debug : .warning
        return logger
    }
}
