/// Named points in the write path where tests can stop the process (SIGKILL) to prove crash
/// safety. The CLI builds one from its environment; everything else receives it.
public struct FaultInjector: Sendable {
    public enum Point: String, Sendable, CaseIterable {
        /// After this many bytes of file content were chunked (see `chunkedBytesThreshold`).
        case duringChunking = "chunking"
        /// After a pack is in the store, before the index naming it is written.
        case afterPackUpload = "after-pack-upload"
        /// After an index object is written, before its catalog rows.
        case afterIndexWrite = "after-index-write"
        /// After the snapshot object is written, before its catalog row.
        case beforeCatalogCommit = "catalog-commit"
    }

    public let point: Point?
    public let chunkedBytesThreshold: Int64
    private let action: @Sendable (Point) -> Void

    public init(point: Point?, chunkedBytesThreshold: Int64 = 1 << 20, action: @escaping @Sendable (Point) -> Void) {
        self.point = point
        self.chunkedBytesThreshold = chunkedBytesThreshold
        self.action = action
    }

    public static let none = FaultInjector(point: nil) { _ in }

    /// Fires the action if `point` is the armed one.
    public func reach(_ point: Point) {
        if point == self.point { action(point) }
    }
}
