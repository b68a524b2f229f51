import CairnRedis
import Testing

@Suite("RESP replies") struct RESPReplyTests {
    @Test func valueAccessors() {
        #expect(RESPValue.simple("OK").string == "OK")
        #expect(RESPValue.bulk(Array("v".utf8)).string == "v")
        #expect(RESPValue.bulk(nil).string == nil)
        #expect(RESPValue.integer(3).string == nil)
        #expect(RESPValue.error("ERR").string == nil)
        #expect(RESPValue.array([.integer(1)]).array == [.integer(1)])
        #expect(RESPValue.array(nil).array == nil)
        #expect(RESPValue.simple("x").array == nil)
    }

    /// Every RESP2 reply shape, delivered a few bytes at a time, plus a 100 KB bulk string that
    /// does not fit the client's 64 KiB buffer.
    @Test func repliesSplitAcrossReads() throws {
        let big = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 % 251) }
        var stream = Array("+PONG\r\n+OK\r\n-NOAUTH Authentication required.\r\n".utf8)
        stream += Array(":-42\r\n$5\r\nhello\r\n$-1\r\n$0\r\n\r\n$4\r\na\r\nb\r\n*-1\r\n*0\r\n".utf8)
        stream += Array("*3\r\n:1\r\n*2\r\n+x\r\n$1\r\ny\r\n-ERR nested\r\n".utf8)
        stream += Array("$\(big.count)\r\n".utf8) + big + [13, 10] + Array("+after\r\n".utf8)
        let peer = try ScriptedPeer(sending: stream)
        do {
            let client = try RESPClient(address: RedisAddress(endpoint: .unix(path: peer.path)))
            #expect(try client.command(["PING"]) == .simple("PONG"))
            #expect(try client.command(["SET", "key", "a value"]) == .simple("OK"))
            let error = try #require(throws: RedisError.self) { try client.command(["GET", "key"]) }
            #expect(error.category == .redis)
            #expect(error.message == "the server requires a password")
            #expect(error.hint?.contains("REDISCLI_AUTH") == true)
            #expect(try client.readReply() == .integer(-42))
            #expect(try client.readReply() == .bulk(Array("hello".utf8)))
            #expect(try client.readReply() == .bulk(nil))
            #expect(try client.readReply() == .bulk([]))
            #expect(try client.readReply() == .bulk(Array("a\r\nb".utf8)))
            #expect(try client.readReply() == .array(nil))
            #expect(try client.readReply() == .array([]))
            #expect(try client.readReply() == .array([.integer(1), .array([.simple("x"), .bulk([0x79])]), .error("ERR nested")]))
            #expect(try client.readReply() == .bulk(big))
            #expect(try client.readReply() == .simple("after"))
        }
        #expect(peer.bytesReceived() == Array(("*1\r\n$4\r\nPING\r\n*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$7\r\na value\r\n"
            + "*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n").utf8))
    }

    @Test func aClosedConnectionAndJunkAreErrors() throws {
        let peer = try ScriptedPeer(sending: Array("?junk\r\n:12x\r\n".utf8))
        do {
            let client = try RESPClient(address: RedisAddress(endpoint: .unix(path: peer.path)))
            let junk = try #require(throws: RedisError.self) { try client.readReply() }
            #expect(junk.message.contains("sent something that is not RESP (?junk)"), "\(junk.message)")
            let badInteger = try #require(throws: RedisError.self) { try client.readReply() }
            #expect(badInteger.message.hasSuffix("sent a malformed integer"))
            let closed = try #require(throws: RedisError.self) { try client.readReply() }
            #expect(closed.message.hasSuffix("closed the connection"))
        }
        _ = peer.bytesReceived()
    }

    /// A bulk length at Int.max overflowed adding the CRLF, and trapped.
    @Test func aBulkLengthAtIntMaxIsMalformed() throws {
        let peer = try ScriptedPeer(sending: Array("$9223372036854775807\r\n".utf8))
        do {
            let client = try RESPClient(address: RedisAddress(endpoint: .unix(path: peer.path)))
            let error = try #require(throws: RedisError.self) { try client.readReply() }
            #expect(error.message.hasSuffix("sent a malformed bulk length"), "\(error.message)")
        }
        _ = peer.bytesReceived()
    }

    /// A bulk length of 1 TiB was reserved before a byte of it arrived, and trapped; the bytes are
    /// read as they come, and a server that hangs up early is an error.
    @Test func aHugeBulkLengthIsNotAnAllocation() throws {
        let peer = try ScriptedPeer(sending: Array("$1099511627776\r\nabc".utf8))
        do {
            let client = try RESPClient(address: RedisAddress(endpoint: .unix(path: peer.path)))
            let error = try #require(throws: RedisError.self) { try client.readReply() }
            #expect(error.message.hasSuffix("closed the connection"), "\(error.message)")
        }
        _ = peer.bytesReceived()
    }

    /// An array of 2^40 items was reserved before one arrived, and trapped; items are read as
    /// they come.
    @Test func aHugeArrayCountIsNotAnAllocation() throws {
        let peer = try ScriptedPeer(sending: Array("*1099511627776\r\n:1\r\n".utf8))
        do {
            let client = try RESPClient(address: RedisAddress(endpoint: .unix(path: peer.path)))
            let closed = try #require(throws: RedisError.self) { try client.readReply() }
            #expect(closed.message.hasSuffix("closed the connection"), "\(closed.message)")
        }
        _ = peer.bytesReceived()
    }

    /// A peer that sends a mebibyte without a line end (not Redis, or a broken proxy in between)
    /// grew the read buffer for as long as it sent; a line longer than Redis's own 64 KiB limit for
    /// inline lines is a protocol error.
    @Test func aLineWithoutEndIsAnError() throws {
        let peer = try ScriptedPeer(sending: [UInt8](repeating: UInt8(ascii: "+"), count: 1 << 20), pieceSizes: [1 << 16], overTCP: true)
        do {
            let client = try RESPClient(address: RedisAddress(endpoint: peer.endpoint))
            let error = try #require(throws: RedisError.self) { try client.readReply() }
            #expect(error.message.hasSuffix("sent a line longer than 64 KiB: not a Redis reply"), "\(error.message)")
            #expect(error.hint?.contains("--redis") == true)
        }
        _ = peer.bytesReceived()

        // 64 KiB is still a line.
        let longest = Array(("+" + String(repeating: "x", count: (64 << 10) - 1) + "\r\n+OK\r\n").utf8)
        let fine = try ScriptedPeer(sending: longest, pieceSizes: [1000], overTCP: true)
        do {
            let client = try RESPClient(address: RedisAddress(endpoint: fine.endpoint))
            #expect(try client.readReply() == .simple(String(repeating: "x", count: (64 << 10) - 1)))
            #expect(try client.readReply() == .simple("OK"))
        }
        _ = fine.bytesReceived()
    }

    /// A million nested one-item arrays recursed until the stack overflowed.
    @Test func arraysNestedWithoutEndAreAnError() throws {
        let depth = 1_000_000
        var stream = [UInt8]()
        stream.reserveCapacity(depth * 4 + 4)
        for _ in 0..<depth { stream += Array("*1\r\n".utf8) }
        stream += Array(":1\r\n".utf8)
        let peer = try ScriptedPeer(sending: stream, pieceSizes: [1 << 16])
        do {
            let client = try RESPClient(address: RedisAddress(endpoint: .unix(path: peer.path)))
            let error = try #require(throws: RedisError.self) { try client.readReply() }
            #expect(error.message.hasSuffix("sent arrays nested more than 128 deep"), "\(error.message)")
        }
        _ = peer.bytesReceived()
    }
}

@Suite("Refused commands") struct RefusedCommandTests {
    /// A renamed CONFIG is done without by passing --data-dir; a renamed BGSAVE or SYNC is not, so
    /// their hints must not send the operator to --data-dir (which they may already have passed).
    @Test func eachRefusedCommandNamesItsOwnWayOut() throws {
        let peer = try ScriptedPeer(sending: Array(("-ERR unknown command 'CONFIG', with args beginning with: 'GET' 'dir' \r\n"
            + "-ERR unknown command 'BGSAVE', with args beginning with: 'SCHEDULE' \r\n"
            + "-NOPERM this user has no permissions to run the 'bgsave' command\r\n").utf8))
        do {
            let client = try RESPClient(address: RedisAddress(endpoint: .unix(path: peer.path)))
            let config = try #require(throws: RedisError.self) { try client.command(["CONFIG", "GET", "dir"]) }
            #expect(config.commandRefused && config.hint?.contains("--data-dir") == true, "\(config.hint ?? "")")
            let bgsave = try #require(throws: RedisError.self) { try client.command(["BGSAVE", "SCHEDULE"]) }
            #expect(bgsave.commandRefused && bgsave.hint?.contains("--via replication") == true, "\(bgsave.hint ?? "")")
            #expect(bgsave.hint?.contains("--data-dir") != true)
            let noPermission = try #require(throws: RedisError.self) { try client.command(["BGSAVE", "SCHEDULE"]) }
            #expect(noPermission.commandRefused && noPermission.hint?.contains("--data-dir") != true, "\(noPermission.hint ?? "")")
        }
        _ = peer.bytesReceived()
    }
}
