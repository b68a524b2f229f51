@testable import CairnBackends
import Foundation
import Testing

/// The request we send and how a token's catalog is read, on a body shaped like Keystone v3's
/// (Tests/CairnCLITests/KeystoneTests.swift runs the binary against a real Keystone).
@Suite struct KeystoneCatalogTests {
    static let body = Array("""
        {"token": {"catalog": [
          {"type": "identity", "name": "keystone", "endpoints": [
            {"interface": "public", "region": "RegionOne", "region_id": "RegionOne", "url": "https://id.example/v3"}]},
          {"type": "object-store", "name": "swift", "endpoints": [
            {"interface": "internal", "region": "RegionOne", "region_id": "RegionOne", "url": "http://10.0.0.1:8080/v1/AUTH_p1"},
            {"interface": "public", "region": "RegionOne", "region_id": "RegionOne", "url": "https://swift.one.example/v1/AUTH_p1"},
            {"interface": "public", "region": "RegionTwo", "region_id": "RegionTwo", "url": "https://swift.two.example/v1/AUTH_p1"}]}
        ]}}
        """.utf8)

    @Test func picksThePublicObjectStoreEndpointOfTheRegion() throws {
        #expect(try KeystoneCredentials.objectStoreEndpoint(in: Self.body, region: "RegionTwo", interface: "public").absoluteString
            == "https://swift.two.example/v1/AUTH_p1")
        #expect(try KeystoneCredentials.objectStoreEndpoint(in: Self.body, region: nil, interface: "public").absoluteString
            == "https://swift.one.example/v1/AUTH_p1")
        #expect(throws: StoreError.self) {
            try KeystoneCredentials.objectStoreEndpoint(in: Self.body, region: "Nowhere", interface: "public")
        }
    }

    @Test func requestNamesUserProjectAndDomains() throws {
        let credentials = KeystoneCredentials(authURL: URL(string: "https://id.example:5000/")!, username: "backup", password: "pw",
                                              projectName: "redis", userDomainName: "Users", projectDomainName: "Projects")
        #expect(credentials.tokensURL.absoluteString == "https://id.example:5000/v3/auth/tokens")
        let json = try JSONSerialization.jsonObject(with: Data(try credentials.requestBody())) as? [String: Any]
        let auth = json?["auth"] as? [String: Any]
        let identity = auth?["identity"] as? [String: Any]
        #expect(identity?["methods"] as? [String] == ["password"])
        let user = (identity?["password"] as? [String: Any])?["user"] as? [String: Any]
        #expect(user?["name"] as? String == "backup")
        #expect((user?["domain"] as? [String: Any])?["name"] as? String == "Users")
        let project = (auth?["scope"] as? [String: Any])?["project"] as? [String: Any]
        #expect(project?["name"] as? String == "redis")
        #expect((project?["domain"] as? [String: Any])?["name"] as? String == "Projects")
        let v3 = KeystoneCredentials(authURL: URL(string: "https://id.example/identity/v3")!, username: "u", password: "p", projectName: "x")
        #expect(v3.tokensURL.absoluteString == "https://id.example/identity/v3/auth/tokens")
    }

    @Test func domainsByIDAndOlderInterfaceNames() throws {
        let credentials = KeystoneCredentials(authURL: URL(string: "https://id.example/v3")!, username: "backup", password: "pw",
                                              projectName: "redis", userDomainID: "d-users", projectDomainID: "d-projects",
                                              interface: "internalURL")
        #expect(credentials.interface == "internal")
        let json = try JSONSerialization.jsonObject(with: Data(try credentials.requestBody())) as? [String: Any]
        let auth = json?["auth"] as? [String: Any]
        let user = ((auth?["identity"] as? [String: Any])?["password"] as? [String: Any])?["user"] as? [String: Any]
        #expect(user?["domain"] as? [String: String] == ["id": "d-users"])
        let project = (auth?["scope"] as? [String: Any])?["project"] as? [String: Any]
        #expect(project?["domain"] as? [String: String] == ["id": "d-projects"])
    }
}
