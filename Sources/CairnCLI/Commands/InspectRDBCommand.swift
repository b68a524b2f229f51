import ArgumentParser
import CairnRedis
import Foundation
import Glibc

struct InspectRDBCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect-rdb",
        abstract: "Validate an RDB file and show what it holds.",
        discussion: """
        Reads the whole file: magic and version (RDB 1–12, Redis 2.6–7.4), every record to the EOF opcode, \
        and the CRC64 trailer. Prints aux fields, keys per database by type, expires and functions. Exits 13 \
        when the file is truncated, corrupt, or of an unknown version. Works on dump.rdb and on AOF base files.

        EXAMPLES:
          cairn inspect-rdb /var/lib/redis/dump.rdb
          cairn inspect-rdb --json \\
              /var/lib/redis/appendonlydir/appendonly.aof.3.base.rdb
        """)

    @Argument(help: "The RDB file.")
    var file: String

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        let fd = open(file, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw CLIError(.inputNotFound, "cannot open \(file): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        let summary = try RDBReader.read(FileDescriptorSource(descriptor: fd), name: file)
        let checksum: String
        switch summary.checksum {
        case .valid(let value): checksum = "valid (0x\(String(value, radix: 16)))"
        case .disabled: checksum = "disabled (written with rdbchecksum no)"
        case .absent: checksum = "none (RDB version < 5)"
        }
        if json {
            Console.json(["file": file, "version": summary.version, "bytes": summary.bytes, "aux": summary.aux,
                          "checksum": checksum, "functions": summary.functions, "keys": summary.keys, "expires": summary.expires,
                          "databases": summary.databases.map { ["db": $0.index, "keys": $0.keys, "expires": $0.expires, "types": $0.types] as [String: Any] }]
                         as [String: Any])
            return
        }
        Console.out("\(file): RDB version \(summary.version), \(summary.bytes) bytes, checksum \(checksum)")
        for key in summary.aux.keys.sorted() { Console.out("  aux \(key) = \(summary.aux[key]!)") }
        for database in summary.databases {
            let types = database.types.keys.sorted().map { "\($0) \(database.types[$0]!)" }.joined(separator: ", ")
            Console.out("  db\(database.index): \(database.keys) keys, \(database.expires) with expiry (\(types))")
        }
        Console.out("  functions: \(summary.functions) librar\(summary.functions == 1 ? "y" : "ies")")
        Console.out("  total: \(summary.keys) keys")
    }
}
