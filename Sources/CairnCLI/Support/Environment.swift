import CairnBackends
import CairnCodec
import Foundation

/// The process environment, read only here (libraries get values passed in).
enum Environment {
    static func value(_ name: String) -> String? {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { return nil }
        return value
    }

    /// Proxies and trusted certificates for Swift and S3 (`https_proxy`, `SSL_CERT_FILE`, …).
    static var network: NetworkSettings { NetworkSettings(environment: ProcessInfo.processInfo.environment) }

    static var hostname: String { ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "localhost" }

    /// This boot of the machine: the kernel's random boot id, nil without /proc.
    static var bootID: String? {
        guard let text = try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8) else { return nil }
        let id = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return id.isEmpty ? nil : id
    }

    /// This process's PID namespace, as the link /proc/self/ns/pid names it (`pid:[4026531836]`),
    /// nil without /proc.
    static var pidNamespace: String? {
        guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/pid"),
              !target.isEmpty else { return nil }
        return target
    }

    static var username: String {
        value("USER") ?? value("LOGNAME") ?? String(getuid())
    }

    static var workingDirectory: String { FileManager.default.currentDirectoryPath }
}

/// The scrypt cost of the keys that `init`, `key add` and `key passwd` write.
enum NewKeyCost {
    /// The standard cost (N = 2^15, r = 8). A debug build alone also reads CAIRN_TEST_SCRYPT_LOG_N
    /// (10–15) for N: the CLI tests set 10, since a debug build spends about 0.6 CPU seconds on
    /// each standard derivation, and every command that opens the repository derives once. A
    /// release build has no way to write a weaker key.
    static func scrypt() throws -> ScryptParameters {
        #if DEBUG
        if let text = Environment.value("CAIRN_TEST_SCRYPT_LOG_N") {
            guard let logN = Int(text), (10...ScryptParameters.standard.logN).contains(logN) else {
                throw CLIError(.usage, "CAIRN_TEST_SCRYPT_LOG_N must be a number from 10 to \(ScryptParameters.standard.logN), not \(text)")
            }
            return ScryptParameters(logN: logN, r: ScryptParameters.standard.r, p: ScryptParameters.standard.p)
        }
        #endif
        return .standard
    }
}

/// Restore settings taken from the environment (`cairn --help` lists them).
enum RestoreTuning {
    /// `CAIRN_RESTORE_SIDE_BY_SIDE_BYTES`: files at least this large are restored two at a time
    /// (default 64 MiB); 0 restores one file at a time.
    static func sideBySideMinimumBytes() throws -> Int64? {
        guard let text = Environment.value("CAIRN_RESTORE_SIDE_BY_SIDE_BYTES") else { return 64 << 20 }
        guard let bytes = Int64(text), bytes >= 0 else {
            throw CLIError(.usage, "CAIRN_RESTORE_SIDE_BY_SIDE_BYTES must be a number of bytes, not \(text)",
                           hint: "e.g. 67108864 (the default, 64 MiB), or 0 to restore one file at a time")
        }
        return bytes == 0 ? nil : bytes
    }

    /// `CAIRN_READ_AHEAD_BYTES`: the most a remote repository's read-ahead holds (default 48 MiB);
    /// 0 turns it off.
    static func readAheadBytes() throws -> Int {
        guard let text = Environment.value("CAIRN_READ_AHEAD_BYTES") else { return ReadAheadStore.defaultBudget }
        guard let bytes = Int(text), bytes >= 0 else {
            throw CLIError(.usage, "CAIRN_READ_AHEAD_BYTES must be a number of bytes, not \(text)",
                           hint: "e.g. \(ReadAheadStore.defaultBudget) (the default, \(ReadAheadStore.defaultBudget >> 20) MiB), or 0 to read nothing ahead")
        }
        return bytes
    }
}
