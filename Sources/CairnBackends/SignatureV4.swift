import CairnCore
import Crypto
import Foundation
import Glibc

/// AWS Signature Version 4, header form: the `Authorization` value for one request.
///
/// The caller passes the headers it will send that are to be signed (at least `host` and
/// `x-amz-date`), the path and query exactly as they appear in the URL (already encoded the
/// canonical way, see `PercentEncoding`), and the hex SHA-256 of the body.
struct SignatureV4: Sendable {
    var accessKeyID: String
    var secretAccessKey: String
    var region: String
    var service: String

    /// `20150830T123600Z` for the request's `x-amz-date`.
    static func timestamp(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(format: "%04d%02d%02dT%02d%02d%02dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
                      Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec))
    }

    static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    func canonicalRequest(method: String, path: String, query: String, headers: [String: String], payloadHash: String) -> String {
        let canonical = Self.canonicalHeaders(headers)
        return [method, path, query,
                canonical.map { "\($0.name):\($0.value)\n" }.joined(),
                canonical.map(\.name).joined(separator: ";"),
                payloadHash].joined(separator: "\n")
    }

    func stringToSign(timestamp: String, canonicalRequest: String) -> String {
        let digest = Hex.encode(Array(SHA256.hash(data: Array(canonicalRequest.utf8))))
        return ["AWS4-HMAC-SHA256", timestamp, scope(timestamp), digest].joined(separator: "\n")
    }

    /// The `Authorization` header value. `headers` must hold `x-amz-date` (any letter case).
    func authorization(method: String, path: String, query: String, headers: [String: String], payloadHash: String) -> String {
        let canonical = Self.canonicalHeaders(headers)
        let timestamp = canonical.first { $0.name == "x-amz-date" }?.value ?? ""
        let request = canonicalRequest(method: method, path: path, query: query, headers: headers, payloadHash: payloadHash)
        let toSign = stringToSign(timestamp: timestamp, canonicalRequest: request)
        let signature = Hex.encode(hmac(signingKey(day: String(timestamp.prefix(8))), Array(toSign.utf8)))
        return "AWS4-HMAC-SHA256 Credential=\(accessKeyID)/\(scope(timestamp)), "
            + "SignedHeaders=\(canonical.map(\.name).joined(separator: ";")), Signature=\(signature)"
    }

    private func scope(_ timestamp: String) -> String {
        "\(timestamp.prefix(8))/\(region)/\(service)/aws4_request"
    }

    private func signingKey(day: String) -> [UInt8] {
        let dayKey = hmac(Array(("AWS4" + secretAccessKey).utf8), Array(day.utf8))
        let regionKey = hmac(dayKey, Array(region.utf8))
        let serviceKey = hmac(regionKey, Array(service.utf8))
        return hmac(serviceKey, Array("aws4_request".utf8))
    }

    private func hmac(_ key: [UInt8], _ message: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key)))
    }

    /// Lower-case names, values trimmed with inner runs of spaces collapsed, sorted by name.
    private static func canonicalHeaders(_ headers: [String: String]) -> [(name: String, value: String)] {
        headers.map { name, value in
            (name.lowercased(), value.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " "))
        }.sorted { $0.name < $1.name }
    }
}
