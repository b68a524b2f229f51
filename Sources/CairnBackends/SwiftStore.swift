import CairnCore
import Foundation
import Glibc

/// A repository in an OpenStack Swift container: `swift://CONTAINER/PREFIX` keeps each object
/// under the name `PREFIX/` + its path (`PREFIX/data/ab/abcd…`).
///
/// Every upload carries its MD5 as `ETag`, so Swift refuses bytes damaged on the way (422), and
/// every whole download is checked against the `ETag` Swift returns. A Swift PUT is atomic and
/// durable when it returns 201. An expired token (401) is renewed once and the request repeated.
/// The container is created by `create()`, or on the first upload that finds it missing.
public final class SwiftStore: ObjectStore, @unchecked Sendable {
    public let container: String
    public let prefix: String
    public let authentication: SwiftAuthentication
    /// Names per listing request (Swift's default and maximum is 10,000).
    let listingPageSize: Int
    let transport: HTTPTransport
    private let spool: SpoolDirectory
    private let lock = NSLock()
    private var credentials: SwiftCredentials?

    /// - Parameters:
    ///   - prefix: the folder inside the container, without leading or trailing slashes ("" for none).
    ///   - listingPageSize: names asked for per listing request; tests make it small to exercise paging.
    ///   - requestTimeout: seconds to wait for the next bytes of an answer.
    ///   - spoolParent: where the private spool directory is made (default: $TMPDIR or /tmp).
    ///   - network: proxies and trusted certificates.
    public init(container: String, prefix: String, authentication: SwiftAuthentication,
                listingPageSize: Int = 10_000, requestTimeout: TimeInterval = 60, spoolParent: String? = nil,
                network: NetworkSettings = .direct) throws {
        guard !container.isEmpty, !container.contains("/") else {
            throw StoreError(.usage, "\"\(container)\" is not a Swift container name", hint: "use swift://CONTAINER/PREFIX")
        }
        self.container = container
        self.prefix = prefix.split(separator: "/").joined(separator: "/")
        self.authentication = authentication
        self.listingPageSize = max(1, listingPageSize)
        transport = HTTPTransport(requestTimeout: requestTimeout, network: network)
        spool = try SpoolDirectory(parent: spoolParent)
    }

    public var location: String { "swift://" + container + (prefix.isEmpty ? "" : "/" + prefix) }
    public var spoolDirectory: String { spool.path }
    /// Each ranged GET waits a round trip: a restore keeps several in flight.
    public var readConcurrency: Int { 8 }

    /// The object's name in the container.
    func objectName(_ key: ObjectKey) -> String { prefix.isEmpty ? key.path : prefix + "/" + key.path }

    private func objectPath(_ key: ObjectKey) -> String {
        PercentEncoding.encode(container) + "/" + PercentEncoding.encode(objectName(key), keepingSlashes: true)
    }

    // MARK: Requests

    /// Sends a request to `path` under the account URL with the current token; a 401 renews the
    /// token once and repeats the request.
    func send(_ method: String, _ path: String, query: String? = nil, headers: [String: String] = [:],
              body: HTTPBody = .empty, subject: String) throws -> HTTPResponse {
        do {
            let first = try currentCredentials(replacing: nil)
            let response = try transport.send(method, url(first, path, query), headers: headers.merging(["X-Auth-Token": first.token]) { a, _ in a },
                                              body: body)
            guard response.status == 401 else { return response }
            let renewed = try currentCredentials(replacing: first)
            return try transport.send(method, url(renewed, path, query), headers: headers.merging(["X-Auth-Token": renewed.token]) { a, _ in a },
                                      body: body)
        } catch let failure as RemoteFailure {
            throw StoreError.remote(failure, method, subject)
        }
    }

    private func url(_ credentials: SwiftCredentials, _ path: String, _ query: String?) -> URL {
        var base = credentials.storageURL.absoluteString
        while base.hasSuffix("/") { base.removeLast() }
        return URL(string: base + "/" + path + (query.map { "?" + $0 } ?? ""))!
    }

    /// The token of the last authentication (nil before the first request).
    var tokenInUse: String? {
        lock.lock()
        defer { lock.unlock() }
        return credentials?.token
    }

    /// The token in use, or a new one when there is none or `stale` is the one in use.
    private func currentCredentials(replacing stale: SwiftCredentials?) throws -> SwiftCredentials {
        lock.lock()
        defer { lock.unlock() }
        if let credentials, credentials != stale { return credentials }
        let fresh = try authentication.authenticate(transport)
        credentials = fresh
        return fresh
    }

    // MARK: ObjectStore

    /// Creates the container; succeeds when it exists.
    public func create() throws {
        let response = try send("PUT", PercentEncoding.encode(container), subject: "container \(container)")
        guard (200...299).contains(response.status) else { throw StoreError.http(response, "creating", "container \(container)") }
    }

    public func put(_ key: ObjectKey, bytes: [UInt8]) throws {
        try upload(key, body: .bytes(bytes), digest: UploadDigest(bytes: bytes, withSHA256: false))
    }

    /// Uploads the file straight from disk and removes it once Swift has it.
    public func put(_ key: ObjectKey, contentsOf path: String) throws {
        try upload(key, body: .file(path), digest: UploadDigest(file: path, withSHA256: false))
        unlink(path)
    }

    public var wantsContentDigests: Bool { true }

    /// The same, with the MD5 its writer computed: the file is not read an extra time.
    public func put(_ key: ObjectKey, contentsOf path: String, digests: ContentDigests) throws {
        try upload(key, body: .file(path), digest: UploadDigest(digests))
        unlink(path)
    }

    private func upload(_ key: ObjectKey, body: HTTPBody, digest: UploadDigest) throws {
        let headers = ["ETag": digest.md5Hex, "Content-Type": "application/octet-stream", "Content-Length": String(digest.size)]
        let subject = "\(location)/\(key.path)"
        var response = try send("PUT", objectPath(key), headers: headers, body: body, subject: subject)
        if response.status == 404 {
            try create()
            response = try send("PUT", objectPath(key), headers: headers, body: body, subject: subject)
        }
        if response.status == 422 {
            throw StoreError.damagedInTransit("Swift received different bytes than were sent for \(subject) (MD5 mismatch)",
                                              "HTTP 422: \(response.bodySnippet)")
        }
        guard response.status == 201 else { throw StoreError.http(response, "uploading", subject) }
        try StoreError.checkUploadETag(Self.md5ETag(response), sent: digest, subject)
    }

    public func get(_ key: ObjectKey) throws -> [UInt8] { try reads.get(key) }

    public func get(_ key: ObjectKey, offset: Int64, length: Int) throws -> [UInt8] {
        try reads.get(key, offset: offset, length: length)
    }

    public func stat(_ key: ObjectKey) throws -> ObjectInfo? { try reads.stat(key) }

    public func delete(_ key: ObjectKey) throws { try reads.delete(key) }

    private var reads: HTTPObjectReads {
        HTTPObjectReads(location: location,
                        send: { method, key, headers in
                            try self.send(method, self.objectPath(key), headers: headers, subject: "\(self.location)/\(key.path)")
                        },
                        md5ETag: Self.md5ETag)
    }

    /// The `ETag`, which in Swift is always the MD5 of the object (large-object manifests aside);
    /// nil when there is none or it is not 32 hex digits.
    static func md5ETag(_ response: HTTPResponse) -> String? {
        guard let etag = response.header("ETag")?.trimmingCharacters(in: CharacterSet(charactersIn: "\"")).lowercased(),
              etag.count == 32, etag.allSatisfy(\.isHexDigit) else { return nil }
        return etag
    }
}
