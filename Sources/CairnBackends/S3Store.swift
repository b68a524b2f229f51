import CairnCore
import Foundation
import Glibc

/// Credentials and region for an S3-compatible service.
public struct S3Credentials: Sendable {
    public var accessKeyID: String
    public var secretAccessKey: String
    public var region: String

    public init(accessKeyID: String, secretAccessKey: String, region: String = "us-east-1") {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.region = region
    }
}

/// A repository in an S3 bucket, addressed path-style: `s3://HOST[:PORT]/BUCKET/PREFIX` keeps each
/// object under the key `PREFIX/` + its path.
///
/// Requests are signed with Signature V4 over the SHA-256 of the body; every upload carries its
/// `Content-MD5`, so the service refuses damaged bytes, and whole downloads are checked against a
/// plain (non-multipart) `ETag`. An S3 PUT is atomic and durable when it returns 200.
public final class S3Store: ObjectStore, ObjectStoreCreating, @unchecked Sendable {
    /// `http://HOST:PORT` or `https://HOST:PORT`.
    public let endpoint: URL
    public let bucket: String
    public let prefix: String
    let credentials: S3Credentials
    /// Keys per ListObjectsV2 request (S3's maximum is 1,000).
    let listingPageSize: Int
    let transport: HTTPTransport
    private let signer: SignatureV4
    private let clock: any WallClock
    private let spool: SpoolDirectory
    private let hostHeader: String

    /// - Parameters:
    ///   - endpoint: scheme, host and port of the service (`http://127.0.0.1:9000`).
    ///   - prefix: the folder inside the bucket, without leading or trailing slashes ("" for none).
    ///   - listingPageSize: keys asked for per listing request; tests make it small to exercise paging.
    ///   - network: proxies and trusted certificates.
    public init(endpoint: URL, bucket: String, prefix: String, credentials: S3Credentials,
                listingPageSize: Int = 1000, requestTimeout: TimeInterval = 60, spoolParent: String? = nil,
                clock: any WallClock = SystemClock(), network: NetworkSettings = .direct) throws {
        guard let host = endpoint.host, !host.isEmpty, ["http", "https"].contains(endpoint.scheme ?? "") else {
            throw StoreError(.usage, "\(endpoint.absoluteString) is not an http(s) endpoint", hint: "use s3://HOST[:PORT]/BUCKET/PREFIX")
        }
        guard !bucket.isEmpty, !bucket.contains("/") else {
            throw StoreError(.usage, "\"\(bucket)\" is not a bucket name", hint: "use s3://HOST[:PORT]/BUCKET/PREFIX")
        }
        self.endpoint = endpoint
        self.bucket = bucket
        self.prefix = prefix.split(separator: "/").joined(separator: "/")
        self.credentials = credentials
        self.listingPageSize = max(1, min(1000, listingPageSize))
        self.clock = clock
        transport = HTTPTransport(requestTimeout: requestTimeout, network: network)
        signer = SignatureV4(accessKeyID: credentials.accessKeyID, secretAccessKey: credentials.secretAccessKey,
                             region: credentials.region, service: "s3")
        spool = try SpoolDirectory(parent: spoolParent)
        let bracketed = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        let defaultPort = endpoint.scheme == "https" ? 443 : 80
        hostHeader = endpoint.port.map { $0 == defaultPort ? bracketed : "\(bracketed):\($0)" } ?? bracketed
    }

    public var location: String { "s3://\(hostHeader)/\(bucket)" + (prefix.isEmpty ? "" : "/" + prefix) }
    public var spoolDirectory: String { spool.path }
    /// Each ranged GET waits a round trip: a restore keeps several in flight.
    public var readConcurrency: Int { 8 }

    /// The object's key in the bucket.
    func objectName(_ key: ObjectKey) -> String { prefix.isEmpty ? key.path : prefix + "/" + key.path }

    private var bucketPath: String { "/" + PercentEncoding.encode(bucket) }

    private func objectPath(_ key: ObjectKey) -> String {
        bucketPath + "/" + PercentEncoding.encode(objectName(key), keepingSlashes: true)
    }

    // MARK: Requests

    /// Signs and sends one request; `path` and `query` are in canonical (encoded) form.
    func send(_ method: String, _ path: String, query: [(String, String)] = [], headers: [String: String] = [:],
              body: HTTPBody = .empty, payloadHash: String = SignatureV4.emptyPayloadHash, subject: String) throws -> HTTPResponse {
        let canonicalQuery = PercentEncoding.query(query)
        // Signed: what the transport cannot rewrite. Content-Length and Content-Type stay unsigned.
        var signed = headers.filter { ["content-md5", "range"].contains($0.key.lowercased()) }
        signed["host"] = hostHeader
        signed["x-amz-date"] = SignatureV4.timestamp(clock.now())
        signed["x-amz-content-sha256"] = payloadHash
        // The Host sent is the one signed, bracketed IPv6 literal and port included.
        var sent = headers.merging(signed) { _, new in new }
        sent["Authorization"] = signer.authorization(method: method, path: path, query: canonicalQuery,
                                                     headers: signed, payloadHash: payloadHash)
        var base = endpoint.absoluteString
        while base.hasSuffix("/") { base.removeLast() }
        let url = URL(string: base + path + (canonicalQuery.isEmpty ? "" : "?" + canonicalQuery))!
        do {
            return try transport.send(method, url, headers: sent, body: body)
        } catch let failure as RemoteFailure {
            throw StoreError.remote(failure, method, subject)
        }
    }

    /// The `<Code>` of an S3 error answer, or "".
    static func errorCode(_ response: HTTPResponse) -> String {
        guard let text = String(bytes: response.body, encoding: .utf8),
              let start = text.range(of: "<Code>"), let end = text.range(of: "</Code>", range: start.upperBound..<text.endIndex) else {
            return ""
        }
        return String(text[start.upperBound..<end.lowerBound])
    }

    // MARK: ObjectStore

    /// Creates the bucket; succeeds when it exists and is ours.
    public func create() throws {
        var body = HTTPBody.empty
        var hash = SignatureV4.emptyPayloadHash
        var headers: [String: String] = [:]
        if credentials.region != "us-east-1" {
            let xml = Array(("<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                + "<LocationConstraint>\(credentials.region)</LocationConstraint></CreateBucketConfiguration>").utf8)
            let digest = UploadDigest(bytes: xml, withSHA256: true)
            body = .bytes(xml)
            hash = digest.sha256Hex
            headers = ["Content-MD5": digest.md5Base64, "Content-Length": String(xml.count)]
        }
        let response = try send("PUT", bucketPath, headers: headers, body: body, payloadHash: hash, subject: "bucket \(bucket)")
        if (200...299).contains(response.status) || Self.errorCode(response) == "BucketAlreadyOwnedByYou" { return }
        throw StoreError.http(response, "creating", "bucket \(bucket)")
    }

    public func put(_ key: ObjectKey, bytes: [UInt8]) throws {
        try upload(key, body: .bytes(bytes), digest: UploadDigest(bytes: bytes, withSHA256: true))
    }

    /// Uploads the file straight from disk and removes it once the service has it.
    public func put(_ key: ObjectKey, contentsOf path: String) throws {
        try upload(key, body: .file(path), digest: UploadDigest(file: path, withSHA256: true))
        unlink(path)
    }

    public var wantsContentDigests: Bool { true }

    /// The same, with the MD5 and SHA-256 its writer computed (a pack's SHA-256 is its name): the
    /// file is not read, nor hashed, an extra time.
    public func put(_ key: ObjectKey, contentsOf path: String, digests: ContentDigests) throws {
        guard digests.sha256.count == 32 else {
            try put(key, contentsOf: path)
            return
        }
        try upload(key, body: .file(path), digest: UploadDigest(digests))
        unlink(path)
    }

    private func upload(_ key: ObjectKey, body: HTTPBody, digest: UploadDigest) throws {
        let headers = ["Content-MD5": digest.md5Base64, "Content-Type": "application/octet-stream",
                       "Content-Length": String(digest.size)]
        let subject = "\(location)/\(key.path)"
        var response = try send("PUT", objectPath(key), headers: headers, body: body, payloadHash: digest.sha256Hex, subject: subject)
        if response.status == 404 && Self.errorCode(response) == "NoSuchBucket" {
            try create()
            response = try send("PUT", objectPath(key), headers: headers, body: body, payloadHash: digest.sha256Hex, subject: subject)
        }
        let code = Self.errorCode(response)
        if ["BadDigest", "XAmzContentSHA256Mismatch"].contains(code) {
            throw StoreError.damagedInTransit("the S3 service received different bytes than were sent for \(subject)",
                                              "HTTP \(response.status) \(code): \(response.bodySnippet)")
        }
        guard (200...299).contains(response.status) else { throw StoreError.http(response, "uploading", subject) }
        try StoreError.checkUploadETag(Self.plainMD5ETag(response), sent: digest, subject)
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
                        md5ETag: Self.plainMD5ETag)
    }

    /// The `ETag` when it is the MD5 of the bytes: not for multipart uploads (`…-N`), and not with
    /// KMS or customer-key encryption, where S3's ETag is something else.
    static func plainMD5ETag(_ response: HTTPResponse) -> String? {
        guard let etag = response.header("ETag")?.trimmingCharacters(in: CharacterSet(charactersIn: "\"")).lowercased(),
              etag.count == 32, etag.allSatisfy(\.isHexDigit) else { return nil }
        if response.header("x-amz-server-side-encryption-customer-algorithm") != nil { return nil }
        if let encryption = response.header("x-amz-server-side-encryption"), encryption.hasPrefix("aws:kms") { return nil }
        return etag
    }
}
