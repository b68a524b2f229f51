import Foundation

extension SwiftStore {
    /// One entry of a JSON container listing.
    private struct ListedObject: Decodable {
        var name: String?
        var bytes: Int64?
        var subdir: String?
        var lastModified: String?

        enum CodingKeys: String, CodingKey {
            case name, bytes, subdir, lastModified = "last_modified"
        }
    }

    /// Lists `PREFIX/KIND/` with `?format=json&prefix=…&marker=…`, page after page, until a page
    /// comes back with fewer names than asked for.
    public func list(_ kind: ObjectKind) throws -> [ObjectInfo] {
        if kind == .config { return try stat(.config).map { [$0] } ?? [] }
        let folder = (prefix.isEmpty ? "" : prefix + "/") + kind.rawValue + "/"
        let subject = "\(location)/\(kind.rawValue)/"
        var result: [ObjectInfo] = []
        var marker: String?
        while true {
            var parameters = [("format", "json"), ("limit", String(listingPageSize)), ("prefix", folder)]
            if let marker { parameters.append(("marker", marker)) }
            let response = try send("GET", PercentEncoding.encode(container), query: PercentEncoding.query(parameters),
                                    headers: ["Accept": "application/json"], subject: subject)
            if response.status == 404 { return [] }          // no container yet: nothing stored
            if response.status == 204 { break }
            guard response.status == 200 else { throw StoreError.http(response, "listing", subject) }
            let page: [ListedObject]
            do {
                page = try JSONDecoder().decode([ListedObject].self, from: Data(response.body))
            } catch {
                throw StoreError(.failure, "Swift answered the listing of \(subject) with something that is not a JSON listing",
                                 cause: RemoteFailure.status(200, detail: response.bodySnippet))
            }
            for entry in page {
                guard let name = entry.name, name.hasPrefix(folder), !name.hasSuffix("/"),
                      let last = name.split(separator: "/").last else { continue }
                result.append(ObjectInfo(key: ObjectKey(kind, String(last)), size: entry.bytes ?? 0,
                                         modified: entry.lastModified.flatMap(ListingTime.parse)))
            }
            guard page.count >= listingPageSize, let last = page.last?.name ?? page.last?.subdir else { break }
            marker = last
        }
        return result
    }
}
