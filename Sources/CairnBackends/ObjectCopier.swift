import CairnCore
import Crypto
import Foundation
import Glibc

/// Copies objects from one store to another unchanged, through a spool file of the destination
/// (a local destination renames it into place), in reads of at most `windowBytes`, so memory
/// stays a few MiB whatever the object's size. The SHA-256 (and, for a destination that checks
/// uploads, the MD5) is taken as the bytes come: a content-named object (a pack, an index or
/// snapshot object) whose bytes do not match its name is refused, not copied, and a remote
/// destination checks what it receives against the MD5.
public struct ObjectCopier: Sendable {
    public let source: any ObjectStore
    public let destination: any ObjectStore
    public let windowBytes: Int

    public init(from source: any ObjectStore, to destination: any ObjectStore, windowBytes: Int = 4 << 20) {
        self.source = source
        self.destination = destination
        self.windowBytes = windowBytes
    }

    /// Copies `object` (its size as the source listed it). With `contentName`, the bytes' SHA-256
    /// must be it, else a `.integrity` error and nothing is stored. `read` is told each window's size.
    public func copy(_ object: ObjectInfo, contentName: Hash256?, read: (Int) -> Void = { _ in }) throws {
        let spool = destination.spoolDirectory + "/mirror-" + UUID().uuidString.lowercased()
        try FileIO.makeDirectories(destination.spoolDirectory, mode: 0o700)
        let fd = open(spool, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw StoreError.fromErrno(errno, "create", path: spool) }
        var handedOver = false
        defer { if !handedOver { unlink(spool) } }
        // MD5 only for a store that sends it (a third of the CPU of a local copy otherwise).
        var md5: Insecure.MD5? = destination.wantsContentDigests ? Insecure.MD5() : nil
        var sha256 = SHA256()
        do {
            defer { close(fd) }
            if object.size <= Int64(windowBytes) {
                // Whole: one request, which a remote store also checks against its ETag.
                let bytes = try source.get(object.key)
                guard Int64(bytes.count) == object.size else {
                    throw StoreError(.integrity, "\(source.location)/\(object.key.path) is \(bytes.count) bytes, the listing said \(object.size)")
                }
                try take(bytes, fd: fd, path: spool, md5: &md5, sha256: &sha256)
                read(bytes.count)
            } else {
                var offset: Int64 = 0
                while offset < object.size {
                    let length = Int(min(Int64(windowBytes), object.size - offset))
                    let bytes = try source.get(object.key, offset: offset, length: length)
                    try take(bytes, fd: fd, path: spool, md5: &md5, sha256: &sha256)
                    offset += Int64(length)
                    read(length)
                }
            }
            guard fsync(fd) == 0 else { throw StoreError.fromErrno(errno, "fsync", path: spool) }
        }
        let digest = sha256.finalize().withUnsafeBytes { Hash256(bytes: $0) }
        if let contentName, digest != contentName {
            throw StoreError(.integrity, "\(source.location)/\(object.key.path) does not match its name (its SHA-256 is \(digest.hex)): "
                             + "it was not copied", hint: "run `cairn check --read-data` on the source to see which snapshots it affects")
        }
        let digests = ContentDigests(md5: md5.map { Array($0.finalize()) } ?? [], sha256: digest.bytes, size: object.size)
        handedOver = destination.spoolIsFinal
        do {
            try destination.put(object.key, contentsOf: spool, digests: digests)
        } catch {
            handedOver = false
            throw error
        }
    }

    private func take(_ bytes: [UInt8], fd: Int32, path: String, md5: inout Insecure.MD5?, sha256: inout SHA256) throws {
        try bytes.withUnsafeBytes { raw in
            md5?.update(bufferPointer: raw)
            sha256.update(bufferPointer: raw)
            try FileIO.writeAll(fd, raw, path: path)
        }
    }
}
