import Foundation

/// How a `SwiftStore` obtains a token and the storage URL of its account.
public enum SwiftAuthentication: Sendable, CustomStringConvertible {
    /// TempAuth / Swauth v1: `GET AUTH_URL` with `X-Auth-User` and `X-Auth-Key` (`ST_AUTH`,
    /// `ST_USER`, `ST_KEY`); the answer carries `X-Auth-Token` and `X-Storage-Url`.
    case tempAuth(url: URL, user: String, key: String)
    /// Keystone v3 password authentication (`OS_AUTH_URL`, `OS_USERNAME`, …).
    case keystone(KeystoneCredentials)

    /// The authentication endpoint, for messages and for naming a cache folder.
    public var endpoint: String {
        switch self {
        case .tempAuth(let url, _, _): return url.absoluteString
        case .keystone(let credentials): return credentials.authURL.absoluteString
        }
    }

    public var description: String {
        switch self {
        case .tempAuth(let url, let user, _): return "TempAuth \(user) at \(url.absoluteString)"
        case .keystone(let credentials): return "Keystone v3 \(credentials.username) at \(credentials.authURL.absoluteString)"
        }
    }

    /// Asks the auth service for a token.
    func authenticate(_ transport: HTTPTransport) throws -> SwiftCredentials {
        switch self {
        case .tempAuth(let url, let user, let key):
            return try Self.tempAuth(transport, url: url, user: user, key: key)
        case .keystone(let credentials):
            return try credentials.authenticate(transport)
        }
    }

    private static func tempAuth(_ transport: HTTPTransport, url: URL, user: String, key: String) throws -> SwiftCredentials {
        let response: HTTPResponse
        do {
            response = try transport.send("GET", url, headers: ["X-Auth-User": user, "X-Auth-Key": key])
        } catch let failure as RemoteFailure {
            throw StoreError.remote(failure, "authenticating at", url.absoluteString)
        }
        guard (200...299).contains(response.status) else {
            if response.status == 401 || response.status == 403 {
                throw StoreError(.failure, "Swift refused the credentials of \(user) at \(url.absoluteString)",
                                 hint: "check ST_AUTH, ST_USER and ST_KEY",
                                 cause: RemoteFailure.status(response.status, detail: response.bodySnippet))
            }
            throw StoreError.http(response, "authenticating at", url.absoluteString)
        }
        guard let token = response.header("X-Auth-Token"),
              let storage = response.header("X-Storage-Url").flatMap(URL.init(string:)) else {
            throw StoreError(.failure, "the TempAuth answer from \(url.absoluteString) has no X-Auth-Token or X-Storage-Url")
        }
        return SwiftCredentials(token: token, storageURL: storage)
    }
}

/// A token and the account URL it is good for.
struct SwiftCredentials: Sendable, Equatable {
    var token: String
    var storageURL: URL
}
