/// Interprets the answer to a ranged GET (`Range: bytes=a-b`) the same way for every remote store.
enum RangedRead {
    /// The `length` bytes at `offset`: a 206 must carry exactly them; a 200 (a server that
    /// ignored the range) is cut; a 416 or a short answer means the object is shorter.
    /// `otherwise` makes the error for any other status (404 and the like).
    static func bytes(from response: HTTPResponse, offset: Int64, length: Int,
                      otherwise: () -> StoreError, short: () -> StoreError) throws -> [UInt8] {
        switch response.status {
        case 206:
            guard response.body.count == length else { throw short() }
            return response.body
        case 200:
            guard Int64(response.body.count) >= offset + Int64(length) else { throw short() }
            let start = Int(offset)
            return Array(response.body[start..<(start + length)])
        case 416:
            throw short()
        default:
            throw otherwise()
        }
    }
}
