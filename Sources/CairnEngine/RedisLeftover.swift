/// Names of files in a Redis data directory that are not the server's data: what
/// `cairn redis-restore` moved aside, copies made by hand, editor backups and Redis's temp files.
enum RedisLeftover {
    /// `NAME.old` or `NAME.old.N`: what `cairn redis-restore` moves the current files and AOF
    /// folder aside as (`dump.rdb.old`, `appendonlydir.old.2`).
    static func isMovedAside(_ name: String) -> Bool {
        if name.hasSuffix(".old") { return true }
        guard let marker = name.range(of: ".old.", options: .backwards) else { return false }
        let counter = name[marker.upperBound...]
        return !counter.isEmpty && counter.allSatisfy(\.isASCII) && counter.allSatisfy(\.isNumber)
    }

    /// Moved aside, or `*.bak`, `*~`, or Redis's `temp-*.rdb`: never taken for the server's RDB.
    static func isLeftover(_ name: String) -> Bool {
        isMovedAside(name) || name.hasSuffix(".bak") || name.hasSuffix("~")
            || (name.hasPrefix("temp-") && name.hasSuffix(".rdb"))
    }
}
