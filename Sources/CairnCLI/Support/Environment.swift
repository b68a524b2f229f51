import Foundation

/// The process environment, read only here (libraries get values passed in).
enum Environment {
    static func value(_ name: String) -> String? {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { return nil }
        return value
    }

    static var hostname: String { ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "localhost" }

    static var username: String {
        value("USER") ?? value("LOGNAME") ?? String(getuid())
    }

    static var workingDirectory: String { FileManager.default.currentDirectoryPath }
}
