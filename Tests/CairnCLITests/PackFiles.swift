import Foundation
import Glibc

/// The pack files of a local test repository, and a way to damage one.
enum PackFiles {
    /// Every data pack's path, oldest first (by modification time).
    static func oldestFirst(in repository: String) throws -> [String] {
        func modified(_ path: String) -> Date {
            (try? FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date) ?? .distantPast
        }
        return try FileManager.default.subpathsOfDirectory(atPath: repository + "/data")
            .filter { $0.count > 10 }
            .map { repository + "/data/" + $0 }
            .sorted { modified($0) < modified($1) }
    }

    /// Flips the bits of `mask` in the byte at `offset` of the file at `path`, in place.
    static func flipByte(_ path: String, at offset: Int64, mask: UInt8 = 0x40) {
        let fd = open(path, O_RDWR)
        var byte: UInt8 = 0
        pread(fd, &byte, 1, off_t(offset))
        byte ^= mask
        pwrite(fd, &byte, 1, off_t(offset))
        close(fd)
    }
}

extension PackFiles {
    /// One chunk's entry in a pack header: its blob's offset and its place in the blob's frame.
    struct Entry: Equatable {
        var offset: UInt64
        var frameOffset: UInt32
    }

    /// The header magic ("CPK1" or "CPK2") and entries of a pack of an unencrypted repository
    /// (whose envelopes are the algorithm byte 0x00 and the plaintext), read from the file.
    static func header(ofUnencryptedPack path: String) throws -> (magic: String, entries: [Entry]) {
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        func u32(_ at: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(bytes[at + $1]) << (8 * $1) } }
        func u64(_ at: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(bytes[at + $1]) << (8 * $1) } }
        let length = Int(u32(bytes.count - 4))
        let start = bytes.count - 4 - length
        guard bytes[start] == 0 else { throw POSIXError(.EINVAL) }
        let magic = String(decoding: bytes[(start + 1)..<(start + 5)], as: UTF8.self)
        let count = Int(u32(start + 5))
        let size = magic == "CPK2" ? 54 : 50
        let entries = (0..<count).map { index -> Entry in
            let at = start + 9 + index * size
            return Entry(offset: u64(at + 34), frameOffset: size == 54 ? u32(at + 50) : 0)
        }
        return (magic, entries)
    }
}
