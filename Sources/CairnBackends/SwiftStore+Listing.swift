import Foundation

extension SwiftStore {
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
            let page = try SwiftListingPage(parsing: response.body, subject: subject, detail: response.bodySnippet)
            for entry in page.objects {
                guard entry.name.hasPrefix(folder), !entry.name.hasSuffix("/"),
                      let last = entry.name.split(separator: "/").last else { continue }
                result.append(ObjectInfo(key: ObjectKey(kind, String(last)), size: entry.size, modified: entry.modified))
            }
            guard page.count >= listingPageSize, let last = page.last else { break }
            marker = last
        }
        return result
    }
}

/// One page of a JSON container listing (`?format=json`).
struct SwiftListingPage {
    /// One entry of the listing, as Swift sends it.
    private struct ListedObject: Decodable {
        var name: String?
        var bytes: Int64?
        var subdir: String?
        var lastModified: String?

        enum CodingKeys: String, CodingKey {
            case name, bytes, subdir, lastModified = "last_modified"
        }
    }

    /// The objects on the page (pseudo-directories left out).
    var objects: [(name: String, size: Int64, modified: Date?)] = []
    /// How many entries the page held, pseudo-directories included: a page as long as the limit
    /// asked for means there may be more.
    var count = 0
    /// The page's last name (or pseudo-directory), the marker for the next page.
    var last: String?

    init(parsing body: [UInt8], subject: String, detail: String) throws {
        let entries: [ListedObject]
        do {
            entries = try JSONDecoder().decode([ListedObject].self, from: Data(body))
        } catch {
            throw StoreError(.failure, "Swift answered the listing of \(subject) with something that is not a JSON listing",
                             cause: RemoteFailure.status(200, detail: detail))
        }
        count = entries.count
        last = entries.last?.name ?? entries.last?.subdir
        for entry in entries {
            guard let name = entry.name else { continue }
            // A size taken as 0 would surface much later, as a "damaged" object in `check` or a
            // mismatch in `mirror`; the listing itself is what is wrong, so say so here.
            guard let size = entry.bytes, size >= 0 else {
                let said = entry.bytes.map(String.init) ?? "no size"
                throw StoreError(.failure, "Swift listed \(name) in \(subject) with \(said), which is not a byte count",
                                 hint: "the server or a proxy in front of it sent a malformed listing; try again, and report it if it persists")
            }
            objects.append((name, size, entry.lastModified.flatMap(ListingTime.parse)))
        }
    }
}
