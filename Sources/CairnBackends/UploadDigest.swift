import CairnCore
import Crypto
import Foundation
import Glibc

/// The MD5 (for Swift's `ETag` and S3's `Content-MD5`) and SHA-256 (for S3's signed payload) of
/// an upload, so the server can verify what it received.
struct UploadDigest {
    var md5: [UInt8]
    /// Empty unless asked for.
    var sha256: [UInt8]
    var size: Int64

    var md5Hex: String { Hex.encode(md5) }
    var md5Base64: String { Data(md5).base64EncodedString() }
    var sha256Hex: String { Hex.encode(sha256) }

    init(bytes: [UInt8], withSHA256: Bool) {
        md5 = Array(Insecure.MD5.hash(data: bytes))
        sha256 = withSHA256 ? Array(SHA256.hash(data: bytes)) : []
        size = Int64(bytes.count)
    }

    /// What the file's writer computed (`ContentDigests`); `sha256` may be empty when not asked for.
    init(_ digests: ContentDigests) {
        md5 = digests.md5
        sha256 = digests.sha256
        size = digests.size
    }

    /// Reads the file at `path` once, in 1 MiB pieces.
    init(file path: String, withSHA256: Bool) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw StoreError.fromErrno(errno, "open", path: path) }
        defer { close(fd) }
        var md5 = Insecure.MD5()
        var sha256 = SHA256()
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var total: Int64 = 0
        while true {
            let got = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if got < 0 {
                if errno == EINTR { continue }
                throw StoreError.fromErrno(errno, "read", path: path)
            }
            if got == 0 { break }
            buffer.withUnsafeBytes { piece in
                let slice = UnsafeRawBufferPointer(rebasing: piece[0..<got])
                md5.update(bufferPointer: slice)
                if withSHA256 { sha256.update(bufferPointer: slice) }
            }
            total += Int64(got)
        }
        self.md5 = Array(md5.finalize())
        self.sha256 = withSHA256 ? Array(sha256.finalize()) : []
        size = total
    }

    /// The lower-case hex MD5 of `bytes`, to compare with an `ETag`.
    static func md5Hex(_ bytes: [UInt8]) -> String { Hex.encode(Array(Insecure.MD5.hash(data: bytes))) }
}
