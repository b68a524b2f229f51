import Foundation

/// Where a Redis server listens and how to log in: `redis://[user:pass@]host:port[/db]`,
/// `rediss://…` (the same over TLS) or `unix:///path/to/redis.sock`.
public struct RedisAddress: Sendable, Equatable, CustomStringConvertible {
    public enum Endpoint: Sendable, Equatable {
        case tcp(host: String, port: Int)
        case unix(path: String)
    }

    public var endpoint: Endpoint
    public var username: String?
    public var password: String?
    public var database: Int
    /// TLS settings for a `rediss://` address; nil for plain TCP and unix sockets.
    public var tls: RedisTLS?

    public init(endpoint: Endpoint, username: String? = nil, password: String? = nil, database: Int = 0, tls: RedisTLS? = nil) {
        self.endpoint = endpoint; self.username = username; self.password = password; self.database = database; self.tls = tls
    }

    /// Parses a URL; `fallbackPassword` (REDISCLI_AUTH, a password file) applies when the URL has none.
    public init(parsing text: String, fallbackPassword: String? = nil) throws {
        if text.hasPrefix("unix://") {
            let path = String(text.dropFirst("unix://".count))
            guard path.hasPrefix("/") else { throw RedisError(.usage, "unix:// addresses need an absolute path, e.g. unix:///run/redis/redis.sock") }
            self.init(endpoint: .unix(path: path), password: fallbackPassword)
            return
        }
        let secure = text.hasPrefix("rediss://")
        guard text.hasPrefix("redis://") || secure, let url = URLComponents(string: text), let host = url.host, !host.isEmpty else {
            throw RedisError(.usage, "\(text) is not a Redis address", hint: "use redis://[user:password@]host:port[/db], rediss://… for TLS, or unix:///path")
        }
        let databaseText = url.path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        guard let database = databaseText.isEmpty ? 0 : Int(databaseText), database >= 0 else {
            throw RedisError(.usage, "\(url.path) in \(text) is not a database number", hint: "use redis://host:port/2 for database 2")
        }
        if let port = url.port, !(1...65535).contains(port) {
            throw RedisError(.usage, "\(port) is not a TCP port", hint: "ports are 1–65535")
        }
        // Decode once: URLComponents.user/password are decoded already, the percent-encoded forms are not.
        var username = url.percentEncodedUser?.removingPercentEncoding
        var password = url.percentEncodedPassword?.removingPercentEncoding
        if username == "" { username = nil }
        if password == nil, let user = username, url.password == nil, text.contains(":\(user)@") == false, text.contains("@") {
            // redis://secret@host: a lone user part is the password, as redis-cli reads it.
            password = user
            username = nil
        }
        // An IPv6 literal is written in brackets in a URL, not in getaddrinfo's host.
        let bareHost = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        self.init(endpoint: .tcp(host: bareHost, port: url.port ?? 6379), username: username,
                  password: password ?? fallbackPassword, database: database, tls: secure ? RedisTLS() : nil)
    }

    public var description: String {
        switch endpoint {
        case .tcp(let host, let port):
            let shown = host.contains(":") ? "[\(host)]" : host
            return (tls != nil ? "rediss://" : "redis://") + "\(shown):\(port)" + (database != 0 ? "/\(database)" : "")
        case .unix(let path): return "unix://\(path)"
        }
    }
}
