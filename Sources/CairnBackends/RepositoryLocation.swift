/// Where `--repo` points: a local path, `swift://CONTAINER[/PREFIX]` or
/// `s3://HOST[:PORT]/BUCKET[/PREFIX]`.
public enum RepositoryLocation: Equatable, Sendable {
    case local(path: String)
    case swift(container: String, prefix: String)
    case s3(host: String, port: Int?, bucket: String, prefix: String)

    /// Reads a location; anything without `://` is a local path.
    public init(parsing text: String) throws {
        guard let separator = text.range(of: "://") else {
            self = .local(path: text)
            return
        }
        let scheme = text[..<separator.lowerBound].lowercased()
        let parts = text[separator.upperBound...].split(separator: "/").map(String.init)
        switch scheme {
        case "swift":
            guard let container = parts.first else {
                throw StoreError(.usage, "\(text) names no container", hint: "use swift://CONTAINER/PREFIX")
            }
            self = .swift(container: container, prefix: parts.dropFirst().joined(separator: "/"))
        case "s3":
            guard parts.count >= 2 else {
                throw StoreError(.usage, "\(text) names no bucket", hint: "use s3://HOST[:PORT]/BUCKET/PREFIX")
            }
            let (host, port) = try Self.hostAndPort(parts[0], in: text)
            self = .s3(host: host, port: port, bucket: parts[1], prefix: parts.dropFirst(2).joined(separator: "/"))
        default:
            throw StoreError(.usage, "\(text): unknown repository scheme \"\(scheme)\"",
                             hint: "use a local path, swift://CONTAINER/PREFIX or s3://HOST[:PORT]/BUCKET/PREFIX")
        }
    }

    /// True for 127.0.0.0/8, ::1 and localhost: where plain http is the sensible default.
    public static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }

    private static func hostAndPort(_ authority: String, in text: String) throws -> (String, Int?) {
        var host = authority
        var port: Int?
        if let colon = authority.lastIndex(of: ":"), !authority.hasSuffix("]") {
            guard let number = Int(authority[authority.index(after: colon)...]), (1...65535).contains(number) else {
                throw StoreError(.usage, "\(text) has a bad port", hint: "use s3://HOST[:PORT]/BUCKET/PREFIX")
            }
            host = String(authority[..<colon])
            port = number
        }
        guard !host.isEmpty else { throw StoreError(.usage, "\(text) names no host", hint: "use s3://HOST[:PORT]/BUCKET/PREFIX") }
        return (host, port)
    }
}
