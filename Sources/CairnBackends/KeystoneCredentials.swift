import Foundation

/// Keystone v3 password authentication scoped to a project: `POST AUTH_URL/v3/auth/tokens`; the
/// token comes back in `X-Subject-Token`, the Swift account URL from the catalog's `object-store`
/// service (interface `public`, in `regionName` when one is given).
public struct KeystoneCredentials: Sendable {
    public var authURL: URL
    public var username: String
    public var password: String
    public var projectName: String
    public var userDomainName: String
    public var projectDomainName: String
    /// Domains by id (`OS_USER_DOMAIN_ID`, `OS_PROJECT_DOMAIN_ID`, as the dashboard's openrc files
    /// name them): when set, they are sent instead of the names.
    public var userDomainID: String?
    public var projectDomainID: String?
    public var regionName: String?
    public var interface: String

    public init(authURL: URL, username: String, password: String, projectName: String,
                userDomainName: String = "Default", projectDomainName: String = "Default",
                userDomainID: String? = nil, projectDomainID: String? = nil,
                regionName: String? = nil, interface: String = "public") {
        self.authURL = authURL
        self.username = username
        self.password = password
        self.projectName = projectName
        self.userDomainName = userDomainName
        self.projectDomainName = projectDomainName
        self.userDomainID = userDomainID
        self.projectDomainID = projectDomainID
        self.regionName = regionName
        self.interface = Self.interfaceName(interface)
    }

    /// "public", "internal" or "admin"; the older catalog spellings ("publicURL", …) are accepted.
    static func interfaceName(_ text: String) -> String {
        text.hasSuffix("URL") ? String(text.dropLast(3)) : text
    }

    /// `…/v3/auth/tokens`, whether `authURL` names the service root, `/v3` or `/v3/`.
    var tokensURL: URL {
        var text = authURL.absoluteString
        while text.hasSuffix("/") { text.removeLast() }
        if !text.hasSuffix("/v3") { text += "/v3" }
        return URL(string: text + "/auth/tokens")!
    }

    func requestBody() throws -> [UInt8] {
        let body: [String: Any] = [
            "auth": [
                "identity": [
                    "methods": ["password"],
                    "password": ["user": ["name": username, "domain": Self.domain(id: userDomainID, name: userDomainName),
                                          "password": password]],
                ],
                "scope": ["project": ["name": projectName, "domain": Self.domain(id: projectDomainID, name: projectDomainName)]],
            ],
        ]
        return Array(try JSONSerialization.data(withJSONObject: body))
    }

    /// A domain by id when one is given, else by name.
    static func domain(id: String?, name: String) -> [String: String] {
        if let id { return ["id": id] }
        return ["name": name]
    }

    func authenticate(_ transport: HTTPTransport) throws -> SwiftCredentials {
        let url = tokensURL
        let response: HTTPResponse
        do {
            response = try transport.send("POST", url, headers: ["Content-Type": "application/json", "Accept": "application/json"],
                                          body: .bytes(try requestBody()))
        } catch let failure as RemoteFailure {
            throw StoreError.remote(failure, "authenticating at", url.absoluteString)
        }
        guard response.status == 201 || response.status == 200 else {
            if response.status == 401 || response.status == 403 {
                throw StoreError(.failure, "Keystone refused the credentials of \(username) for project \(projectName)",
                                 hint: "check OS_USERNAME, OS_PASSWORD, OS_PROJECT_NAME and the domains (OS_USER_DOMAIN_NAME or _ID, OS_PROJECT_DOMAIN_NAME or _ID)",
                                 cause: RemoteFailure.status(response.status, detail: response.bodySnippet))
            }
            throw StoreError.http(response, "authenticating at", url.absoluteString)
        }
        guard let token = response.header("X-Subject-Token") else {
            throw StoreError(.failure, "the Keystone answer from \(url.absoluteString) has no X-Subject-Token header")
        }
        let storage = try Self.objectStoreEndpoint(in: response.body, region: regionName, interface: interface)
        return SwiftCredentials(token: token, storageURL: storage)
    }

    /// Finds the object-store endpoint in a token's service catalog.
    static func objectStoreEndpoint(in body: [UInt8], region: String?, interface: String) throws -> URL {
        guard let root = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
              let token = root["token"] as? [String: Any],
              let catalog = token["catalog"] as? [[String: Any]] else {
            throw StoreError(.failure, "the Keystone token has no service catalog")
        }
        let services = catalog.filter { ($0["type"] as? String) == "object-store" }
        guard !services.isEmpty else {
            throw StoreError(.failure, "the Keystone catalog has no object-store service",
                             hint: "check that the project has Swift, or use ST_AUTH/ST_USER/ST_KEY")
        }
        for service in services {
            for endpoint in service["endpoints"] as? [[String: Any]] ?? [] {
                guard (endpoint["interface"] as? String) == interface else { continue }
                if let region {
                    let names = [endpoint["region"] as? String, endpoint["region_id"] as? String]
                    guard names.contains(region) else { continue }
                }
                if let text = endpoint["url"] as? String, let url = URL(string: text) { return url }
            }
        }
        throw StoreError(.failure, "the Keystone catalog has no \(interface) object-store endpoint" + (region.map { " in region \($0)" } ?? ""),
                         hint: "check OS_REGION_NAME")
    }
}
