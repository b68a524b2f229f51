import Foundation

/// A small blocking RESP2 client: commands, INFO, and the replication stream.
public final class RESPClient {
    private let connection: RESPConnection
    public let address: RedisAddress

    /// Connects, authenticates (AUTH password, or AUTH user password) and selects the database.
    public init(address: RedisAddress, timeout: Double = 10) throws {
        self.address = address
        connection = try RESPConnection(address: address, timeout: timeout)
        if let password = address.password {
            var arguments = ["AUTH"]
            if let user = address.username { arguments.append(user) }
            arguments.append(password)
            _ = try command(arguments)
        }
        if address.database != 0 { _ = try command(["SELECT", String(address.database)]) }
    }

    public func setTimeout(_ seconds: Double) { connection.setTimeout(seconds) }

    /// Sends a command and returns its reply; an error reply throws a `RedisError` that says what to do.
    @discardableResult
    public func command(_ arguments: [String]) throws -> RESPValue {
        try send(arguments.map { Array($0.utf8) })
        let reply = try readReply()
        if case .error(let text) = reply { throw Self.error(for: text, command: arguments.first ?? "") }
        return reply
    }

    public func send(_ arguments: [[UInt8]]) throws {
        var bytes = Array("*\(arguments.count)\r\n".utf8)
        for argument in arguments {
            bytes += Array("$\(argument.count)\r\n".utf8)
            bytes += argument
            bytes += [13, 10]
        }
        try connection.write(bytes)
    }

    public func readReply() throws -> RESPValue { try readReply(depth: 0) }

    /// Arrays nested deeper than this are refused rather than read by recursion without end
    /// (Redis's own replies nest a few levels).
    static let maximumNesting = 128

    private func readReply(depth: Int) throws -> RESPValue {
        let line = try connection.readLine()
        guard let kind = line.first else { throw RedisError("\(address) sent an empty line") }
        let rest = String(decoding: line.dropFirst(), as: UTF8.self)
        switch kind {
        case UInt8(ascii: "+"): return .simple(rest)
        case UInt8(ascii: "-"): return .error(rest)
        case UInt8(ascii: ":"):
            guard let value = Int64(rest) else { throw RedisError("\(address) sent a malformed integer") }
            return .integer(value)
        case UInt8(ascii: "$"):
            guard let length = Int(rest), length < Int.max - 2 else { throw RedisError("\(address) sent a malformed bulk length") }
            if length < 0 { return .bulk(nil) }
            let bytes = try connection.readExactly(length + 2)
            return .bulk(Array(bytes.prefix(length)))
        case UInt8(ascii: "*"):
            guard let count = Int(rest) else { throw RedisError("\(address) sent a malformed array length") }
            if count < 0 { return .array(nil) }
            guard depth < Self.maximumNesting else {
                throw RedisError("\(address) sent arrays nested more than \(Self.maximumNesting) deep")
            }
            // Grown as items arrive: the count alone must not size an allocation.
            var items: [RESPValue] = []
            items.reserveCapacity(min(count, 1024))
            for _ in 0..<count { items.append(try readReply(depth: depth + 1)) }
            return .array(items)
        default:
            throw RedisError("\(address) sent something that is not RESP (\(String(decoding: line.prefix(40), as: UTF8.self)))")
        }
    }

    /// `INFO section` as key/value pairs.
    public func info(_ section: String) throws -> [String: String] {
        guard let text = try command(["INFO", section]).string else { throw RedisError("INFO returned no text") }
        var fields: [String: String] = [:]
        for line in text.split(whereSeparator: \.isNewline) where !line.hasPrefix("#") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[String(line[..<colon])] = String(line[line.index(after: colon)...])
        }
        return fields
    }

    /// `CONFIG GET name` → value, or nil when the server does not know it.
    public func config(_ name: String) throws -> String? {
        guard let items = try command(["CONFIG", "GET", name]).array, items.count >= 2 else { return nil }
        return items[1].string
    }

    /// Asks the server for a full copy of its dataset over the replication protocol, RDB only:
    /// `REPLCONF capa eof` (accept the diskless form), `REPLCONF rdb-only 1` (Redis ≥ 7: no
    /// command stream afterwards), then `SYNC`. Returns the payload as a byte source.
    public func requestReplicationPayload() throws -> ReplicationPayloadSource {
        try command(["REPLCONF", "capa", "eof"])
        do {
            try command(["REPLCONF", "rdb-only", "1"])
        } catch let error as RedisError where error.message.contains("Redis replied to REPLCONF") {
            // Redis < 7 does not know rdb-only; the stream that follows the RDB is simply not read.
        }
        try send([Array("SYNC".utf8)])
        var header: [UInt8] = []
        repeat {
            header = try connection.readLine()   // empty lines are the master's keep-alives while it forks
        } while header.isEmpty
        if header.first == UInt8(ascii: "-") {
            throw Self.error(for: String(decoding: header.dropFirst(), as: UTF8.self), command: "SYNC")
        }
        guard header.first == UInt8(ascii: "$") else {
            throw RedisError("unexpected reply to SYNC: \(String(decoding: header.prefix(60), as: UTF8.self))")
        }
        let rest = String(decoding: header.dropFirst(), as: UTF8.self)
        if rest.hasPrefix("EOF:") {
            let mark = Array(rest.dropFirst(4).utf8)
            guard mark.count == 40 else { throw RedisError("the replication EOF mark is not 40 bytes") }
            return ReplicationPayloadSource(connection: connection, end: .mark(mark))
        }
        guard let length = Int64(rest), length >= 0 else { throw RedisError("malformed replication payload length: \(rest)") }
        return ReplicationPayloadSource(connection: connection, end: .length(length))
    }

    /// What to do instead when the server does not know a command (renamed or disabled). Only
    /// CONFIG can be done without: --data-dir names what it would have told.
    static let refusedCommandHints: [String: String] = [
        "CONFIG": "pass --data-dir so Cairn does not need it",
        "BGSAVE": "capture with --via replication, or stop the server and back up its data directory",
        "SYNC": "capture with --via files (BGSAVE and the data directory) on the Redis host",
        "REPLCONF": "capture with --via files (BGSAVE and the data directory) on the Redis host",
    ]

    /// Maps a server error reply to a message that says what to do.
    static func error(for reply: String, command: String) -> RedisError {
        let code = reply.split(separator: " ").first.map(String.init) ?? reply
        switch code {
        case "NOAUTH":
            return RedisError("the server requires a password",
                              hint: "put it in a root-only file and pass --redis-password-file, or set REDISCLI_AUTH "
                                + "(in the URL, redis://:PASSWORD@host:port, ps shows it)")
        case "WRONGPASS":
            return RedisError("Redis refused the username or password", hint: "check the password given for --redis")
        case "NOPERM":
            var error = RedisError("the Redis user may not run \(command): \(reply)",
                                   hint: "grant the ACL user +\(command.lowercased())" + (command == "CONFIG" ? " or pass --data-dir" : ""))
            error.commandRefused = true
            return error
        case "MISCONF":
            return RedisError("Redis cannot save to disk (MISCONF): \(reply)", hint: "fix the server's dir/permissions/disk space; see its log")
        case "LOADING":
            return RedisError("Redis is still loading its dataset", hint: "wait until it has loaded and try again")
        default:
            if reply.contains("unknown command") {
                var error = RedisError("the server does not accept \(command) (renamed or disabled?): \(reply)",
                                       hint: refusedCommandHints[command])
                error.commandRefused = true
                return error
            }
            return RedisError("Redis replied to \(command): \(reply)")
        }
    }
}
