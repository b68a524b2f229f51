import CairnRedis
import Testing

@Suite("Redis address") struct RedisAddressTests {
    @Test func hostPortAndDatabase() throws {
        let address = try RedisAddress(parsing: "redis://cache.example.org:6380/2")
        #expect(address == RedisAddress(endpoint: .tcp(host: "cache.example.org", port: 6380), database: 2))
        #expect(address.description == "redis://cache.example.org:6380/2")
        let plain = try RedisAddress(parsing: "redis://127.0.0.1")
        #expect(plain == RedisAddress(endpoint: .tcp(host: "127.0.0.1", port: 6379)))
        #expect(plain.description == "redis://127.0.0.1:6379")
    }

    @Test func credentials() throws {
        let both = try RedisAddress(parsing: "redis://backup:s3cret@db1:6380")
        #expect(both == RedisAddress(endpoint: .tcp(host: "db1", port: 6380), username: "backup", password: "s3cret"))
        #expect(!both.description.contains("s3cret"), "descriptions never show the password")
        #expect(try RedisAddress(parsing: "redis://:s3cret@db1").password == "s3cret")
        #expect(try RedisAddress(parsing: "redis://:s3cret@db1").username == nil)
        let lone = try RedisAddress(parsing: "redis://s3cret@db1")
        #expect(lone.username == nil && lone.password == "s3cret", "a lone user part is the password, as redis-cli reads it")
        #expect(try RedisAddress(parsing: "redis://:p%40ss%3Aword@db1").password == "p@ss:word")
    }

    @Test func fallbackPasswordOnlyWhenTheURLHasNone() throws {
        #expect(try RedisAddress(parsing: "redis://db1", fallbackPassword: "from-env").password == "from-env")
        #expect(try RedisAddress(parsing: "redis://:url@db1", fallbackPassword: "from-env").password == "url")
        #expect(try RedisAddress(parsing: "unix:///run/redis.sock", fallbackPassword: "from-env").password == "from-env")
    }

    /// rediss:// is redis:// over TLS (redis-cli's and most clients' scheme): the same parts, and
    /// TLS settings the connection uses (the system's trust store until options say otherwise).
    @Test func redissIsTLS() throws {
        let address = try RedisAddress(parsing: "rediss://backup:s3cret@cache.example.org:6380/2")
        #expect(address == RedisAddress(endpoint: .tcp(host: "cache.example.org", port: 6380), username: "backup",
                                        password: "s3cret", database: 2, tls: RedisTLS()))
        #expect(address.description == "rediss://cache.example.org:6380/2")
        #expect(try RedisAddress(parsing: "redis://cache.example.org").tls == nil)
    }

    @Test func unixSockets() throws {
        let address = try RedisAddress(parsing: "unix:///var/run/redis.sock")
        #expect(address.endpoint == .unix(path: "/var/run/redis.sock"))
        #expect(address.database == 0)
        #expect(address.description == "unix:///var/run/redis.sock")
    }

    @Test(arguments: ["", "db1:6379", "http://db1", "rediss://", "redis://", "redis:///", "redis://:6379",
                      "redis://db1:port", "unix://relative.sock", "unix://"])
    func badAddressesAreUsageErrors(_ text: String) throws {
        let error = try #require(throws: RedisError.self) { try RedisAddress(parsing: text) }
        #expect(error.category == .usage)
    }

    /// Regression (was a bug): RedisAddress.swift:33 calls `removingPercentEncoding` on `URLComponents.password`,
    /// which Foundation has already decoded: a password containing "%" is decoded twice or lost.
    @Test func percentSignsInPasswords() throws {
        let literalPercent = try RedisAddress(parsing: "redis://:50%25off@db1")
        let encodedEscape = try RedisAddress(parsing: "redis://:a%2541@db1")
        #expect(literalPercent.password == "50%off")
        #expect(encodedEscape.password == "a%41")
    }

    /// Regression (was a bug): bracketed IPv6 hosts keep their brackets (getaddrinfo cannot resolve "[::1]"),
    /// out-of-range ports and non-numeric or negative database numbers are accepted.
    @Test func invalidPartsAreRefused() throws {
        let address = try RedisAddress(parsing: "redis://[::1]:6379")
        #expect(address.endpoint == .tcp(host: "::1", port: 6379))
        
        for text in ["redis://db1:99999", "redis://db1:6379/x", "redis://db1:6379/-1"] {
            #expect(throws: RedisError.self) { try RedisAddress(parsing: text) }
        }
    }
}
