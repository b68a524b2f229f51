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
