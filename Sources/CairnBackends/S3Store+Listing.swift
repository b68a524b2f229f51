import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

extension S3Store {
    /// Lists `PREFIX/KIND/` with ListObjectsV2 (`?list-type=2&prefix=…`), following continuation
    /// tokens until the answer is no longer truncated.
    public func list(_ kind: ObjectKind) throws -> [ObjectInfo] {
        if kind == .config { return try stat(.config).map { [$0] } ?? [] }
        let folder = (prefix.isEmpty ? "" : prefix + "/") + kind.rawValue + "/"
        let subject = "\(location)/\(kind.rawValue)/"
        var result: [ObjectInfo] = []
        var token: String?
        repeat {
            var query = [("list-type", "2"), ("max-keys", String(listingPageSize)), ("prefix", folder)]
            if let token { query.append(("continuation-token", token)) }
            let response = try send("GET", "/" + PercentEncoding.encode(bucket), query: query, subject: subject)
            if response.status == 404 && Self.errorCode(response) == "NoSuchBucket" { return [] }
            guard response.status == 200 else { throw StoreError.http(response, "listing", subject) }
            let page = try S3ListingPage(parsing: response.body, subject: subject)
            for entry in page.objects {
                guard entry.key.hasPrefix(folder), !entry.key.hasSuffix("/"),
                      let last = entry.key.split(separator: "/").last else { continue }
                result.append(ObjectInfo(key: ObjectKey(kind, String(last)), size: entry.size, modified: entry.modified))
            }
            token = page.isTruncated && !page.objects.isEmpty ? page.nextContinuationToken : nil
        } while token != nil
        return result
    }
}

/// One page of a ListObjectsV2 answer, read with XMLParser.
struct S3ListingPage {
    var objects: [(key: String, size: Int64, modified: Date?)] = []
    var isTruncated = false
    var nextContinuationToken: String?

    init(parsing body: [UInt8], subject: String) throws {
        let reader = Reader()
        let parser = XMLParser(data: Data(body))
        parser.delegate = reader
        guard parser.parse(), reader.sawResult else {
            throw StoreError(.failure, "the S3 service answered the listing of \(subject) with something that is not a ListBucketResult",
                             cause: RemoteFailure.status(200, detail: String(decoding: body.prefix(300), as: UTF8.self)))
        }
        // A size taken as 0 would surface much later, as a "damaged" object in `check` or a
        // mismatch in `mirror`; the listing itself is what is wrong, so say so here.
        if let (key, size) = reader.unreadableSize {
            throw StoreError(.failure, "the S3 service listed \(key) in \(subject) with size '\(size)', which is not a byte count",
                             hint: "the service or a proxy in front of it sent a malformed listing; try again, and report it if it persists")
        }
        objects = reader.objects
        isTruncated = reader.isTruncated
        nextContinuationToken = reader.nextContinuationToken
    }

    private final class Reader: NSObject, XMLParserDelegate {
        var objects: [(key: String, size: Int64, modified: Date?)] = []
        var isTruncated = false
        var nextContinuationToken: String?
        var sawResult = false
        /// The first object listed without a readable, non-negative `Size`, and what it said.
        var unreadableSize: (key: String, size: String)?
        private var path: [String] = []
        private var text = ""
        private var key: String?
        private var size: Int64?
        private var sizeText = ""
        private var modified: Date?

        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                    attributes: [String: String] = [:]) {
            path.append(name)
            text = ""
            if name == "ListBucketResult" { sawResult = true }
            if name == "Contents" { key = nil; size = nil; sizeText = "(none)"; modified = nil }
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }

        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            let parent = path.count >= 2 ? path[path.count - 2] : ""
            switch (parent, name) {
            case ("Contents", "Key"): key = text
            case ("Contents", "Size"): size = Int64(text).flatMap { $0 >= 0 ? $0 : nil }; sizeText = text
            case ("Contents", "LastModified"): modified = ListingTime.parse(text)
            case ("ListBucketResult", "IsTruncated"): isTruncated = text == "true"
            case ("ListBucketResult", "NextContinuationToken"): nextContinuationToken = text
            case (_, "Contents"):
                guard let key else { break }
                if let size {
                    objects.append((key, size, modified))
                } else if unreadableSize == nil {
                    unreadableSize = (key, String(sizeText.prefix(40)))
                }
            default: break
            }
            path.removeLast()
            text = ""
        }
    }
}
