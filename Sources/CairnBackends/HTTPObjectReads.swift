import Foundation

/// GET (whole, verified against an MD5 ETag; or a byte range), HEAD and DELETE of one object,
/// done the same way for every HTTP object store; the store supplies how to send a request for
/// a key and which ETags are MD5s.
struct HTTPObjectReads {
    let location: String
    let send: (_ method: String, _ key: ObjectKey, _ headers: [String: String]) throws -> HTTPResponse
    /// The ETag when it is the MD5 of the body, else nil (no check).
    let md5ETag: (HTTPResponse) -> String?

    func get(_ key: ObjectKey) throws -> [UInt8] {
        let response = try send("GET", key, [:])
        guard response.status == 200 else { throw missingOrError(response, key, "downloading") }
        if let etag = md5ETag(response), etag != UploadDigest.md5Hex(response.body) {
            throw StoreError.damagedInTransit("\(location)/\(key.path) arrived damaged (its MD5 differs from the ETag)",
                                              "body does not match ETag \(etag)")
        }
        return response.body
    }

    func get(_ key: ObjectKey, offset: Int64, length: Int) throws -> [UInt8] {
        guard length > 0 else {
            guard let info = try stat(key) else { throw missing(key) }
            guard offset <= info.size else { throw shorter(key, offset: offset, length: length) }
            return []
        }
        let response = try send("GET", key, ["Range": "bytes=\(offset)-\(offset + Int64(length) - 1)"])
        return try RangedRead.bytes(from: response, offset: offset, length: length,
                                    otherwise: { missingOrError(response, key, "downloading") },
                                    short: { shorter(key, offset: offset, length: length) })
    }

    func stat(_ key: ObjectKey) throws -> ObjectInfo? {
        let response = try send("HEAD", key, [:])
        if response.status == 404 { return nil }
        guard (200...299).contains(response.status), let size = response.header("Content-Length").flatMap(Int64.init) else {
            throw StoreError.http(response, "looking up", "\(location)/\(key.path)")
        }
        return ObjectInfo(key: key, size: size)
    }

    func delete(_ key: ObjectKey) throws {
        let response = try send("DELETE", key, [:])
        guard (200...299).contains(response.status) || response.status == 404 else {
            throw StoreError.http(response, "deleting", "\(location)/\(key.path)")
        }
    }

    private func missing(_ key: ObjectKey) -> StoreError {
        StoreError(.inputNotFound, "object \(key.path) is missing from the repository at \(location)",
                   hint: "run `cairn check` to see what is affected")
    }

    private func missingOrError(_ response: HTTPResponse, _ key: ObjectKey, _ operation: String) -> StoreError {
        response.status == 404 ? missing(key) : StoreError.http(response, operation, "\(location)/\(key.path)")
    }

    private func shorter(_ key: ObjectKey, offset: Int64, length: Int) -> StoreError {
        StoreError(.integrity, "\(location)/\(key.path) is shorter than expected (wanted \(length) bytes at offset \(offset))")
    }
}
