import CairnCore

/// One entry of a snapshot's tree: a file, directory, symlink or hard link, with the metadata
/// restore puts back and the metadata backup compares to skip unchanged files.
///
/// Nodes are stored in a single stream per snapshot, in component-wise path order; the stream
/// is cut into content-defined tree blobs so an unchanged run of it deduplicates from night to night.
/// A file's chunk ids follow its node record in the stream as groups (`varint n`, then n ids;
/// `varint 0` ends the list; see `TreeWriter`), so neither writer nor reader ever holds a
/// multi-million-entry list in memory, and the writer need not know the count in advance.
public struct TreeNode: Sendable, Equatable {
    public enum Kind: UInt8, Sendable {
        case file = 1, directory = 2, symlink = 3, hardlink = 4
    }

    public var kind: Kind
    /// Relative path inside the snapshot, components separated by "/" (raw bytes: names need not be UTF-8).
    public var path: [UInt8]
    public var mode: UInt32
    public var uid: UInt32
    public var gid: UInt32
    public var size: Int64
    public var modificationSeconds: Int64
    public var modificationNanoseconds: Int32
    public var changeSeconds: Int64
    public var changeNanoseconds: Int32
    public var inode: UInt64
    public var device: UInt64
    /// Symlink target, or for a hard link the path (inside the snapshot) of the first name.
    public var linkTarget: [UInt8]

    public init(kind: Kind, path: [UInt8], mode: UInt32 = 0, uid: UInt32 = 0, gid: UInt32 = 0, size: Int64 = 0,
                modificationSeconds: Int64 = 0, modificationNanoseconds: Int32 = 0,
                changeSeconds: Int64 = 0, changeNanoseconds: Int32 = 0, inode: UInt64 = 0, device: UInt64 = 0,
                linkTarget: [UInt8] = []) {
        self.kind = kind; self.path = path; self.mode = mode; self.uid = uid; self.gid = gid; self.size = size
        self.modificationSeconds = modificationSeconds; self.modificationNanoseconds = modificationNanoseconds
        self.changeSeconds = changeSeconds; self.changeNanoseconds = changeNanoseconds
        self.inode = inode; self.device = device; self.linkTarget = linkTarget
    }

    public var pathString: String { String(decoding: path, as: UTF8.self) }

    /// Compares paths component by component: the order a sorted depth-first walk produces.
    public static func pathOrder(_ lhs: [UInt8], _ rhs: [UInt8]) -> Int {
        let count = min(lhs.count, rhs.count)
        var index = 0
        while index < count {
            let left = lhs[index], right = rhs[index]
            if left != right {
                // "/" sorts before every other byte so that "a/x" comes before "a.b".
                if left == UInt8(ascii: "/") { return -1 }
                if right == UInt8(ascii: "/") { return 1 }
                return left < right ? -1 : 1
            }
            index += 1
        }
        return lhs.count == rhs.count ? 0 : (lhs.count < rhs.count ? -1 : 1)
    }

    /// True when a file's content can be assumed unchanged (restic's rule: size, mtime, ctime, inode).
    public func looksUnchanged(comparedTo previous: TreeNode) -> Bool {
        kind == .file && previous.kind == .file && size == previous.size
            && modificationSeconds == previous.modificationSeconds
            && modificationNanoseconds == previous.modificationNanoseconds
            && changeSeconds == previous.changeSeconds && changeNanoseconds == previous.changeNanoseconds
            && inode == previous.inode
    }

    static let recordMarker: UInt8 = 0x4e   // "N"

    func encode(into writer: inout ByteWriter) {
        writer.u8(Self.recordMarker)
        writer.u8(kind.rawValue)
        writer.bytes(path)
        writer.varint(UInt64(mode))
        writer.varint(UInt64(uid))
        writer.varint(UInt64(gid))
        writer.svarint(size)
        writer.svarint(modificationSeconds)
        writer.varint(UInt64(UInt32(bitPattern: modificationNanoseconds)))
        writer.svarint(changeSeconds)
        writer.varint(UInt64(UInt32(bitPattern: changeNanoseconds)))
        writer.varint(inode)
        writer.varint(device)
        writer.bytes(linkTarget)
    }

    static func decode(from reader: inout ByteReader) throws -> TreeNode {
        guard try reader.u8() == recordMarker else {
            throw RepositoryError(.integrity, "snapshot tree is malformed: expected a node record at byte \(reader.position - 1)")
        }
        guard let kind = Kind(rawValue: try reader.u8()) else {
            throw RepositoryError(.integrity, "snapshot tree has an unknown node kind")
        }
        let path = try reader.lengthPrefixedBytes()
        let mode = UInt32(truncatingIfNeeded: try reader.varint())
        let uid = UInt32(truncatingIfNeeded: try reader.varint())
        let gid = UInt32(truncatingIfNeeded: try reader.varint())
        let size = try reader.svarint()
        let mtime = try reader.svarint()
        let mtimeNanoseconds = Int32(bitPattern: UInt32(truncatingIfNeeded: try reader.varint()))
        let ctime = try reader.svarint()
        let ctimeNanoseconds = Int32(bitPattern: UInt32(truncatingIfNeeded: try reader.varint()))
        let inode = try reader.varint()
        let device = try reader.varint()
        let target = try reader.lengthPrefixedBytes()
        return TreeNode(kind: kind, path: path, mode: mode, uid: uid, gid: gid, size: size,
                        modificationSeconds: mtime, modificationNanoseconds: mtimeNanoseconds,
                        changeSeconds: ctime, changeNanoseconds: ctimeNanoseconds, inode: inode, device: device,
                        linkTarget: target)
    }
}
