import CairnBackends
import Foundation
import Testing

/// The stores the conformance suite runs against. The remote ones talk to the suite's
/// `ObjectStoreServer`; CAIRN_SKIP_OBJECTSTORE=1 leaves them out.
enum StoreKind: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case local, swift, s3

    static var selected: [StoreKind] { ObjectStoreServer.skipped ? [.local] : allCases }

    var testDescription: String { rawValue }

    /// A new, empty, created store of this kind; `cleanUp` removes what the test left.
    func makeStore(listingPageSize: Int = 10_000) throws -> (store: any ObjectStore, cleanUp: () -> Void) {
        switch self {
        case .local:
            let root = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-store-\(UUID().uuidString)").path
            let store = LocalStore(root: root)
            try store.create()
            return (store, { try? FileManager.default.removeItem(atPath: root) })
        case .swift:
            let server = try ObjectStoreServer.require()
            let store = try SwiftStore(container: Self.uniqueName(), prefix: "backups/redis-1",
                                       authentication: .tempAuth(url: server.authURL, user: server.user, key: server.key),
                                       listingPageSize: listingPageSize, requestTimeout: 30)
            try store.create()
            return (store, {})
        case .s3:
            let server = try ObjectStoreServer.require()
            let store = try S3Store(endpoint: URL(string: "http://" + server.s3Endpoint)!, bucket: Self.uniqueName(),
                                    prefix: "backups/redis-1",
                                    credentials: S3Credentials(accessKeyID: server.accessKey, secretAccessKey: server.secretKey),
                                    listingPageSize: listingPageSize, requestTimeout: 30)
            try store.create()
            return (store, {})
        }
    }

    /// A fresh container or bucket name (lower case, DNS-safe), so parallel tests never meet.
    static func uniqueName() -> String {
        "cairn-" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(20)
    }
}
