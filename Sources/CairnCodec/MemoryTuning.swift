/// Large-allocation tuning. swift-crypto's seal returns a fresh buffer per call and glibc hands
/// large blocks back to the kernel, costing page faults per chunk (reference/swift-probe.md 3b).
/// Raising the mmap and trim thresholds keeps those blocks in the heap for reuse.
public enum MemoryTuning {
    @_silgen_name("mallopt")
    private static func mallopt(_ parameter: Int32, _ value: Int32) -> Int32

    private static let mmapThreshold: Int32 = -3   // M_MMAP_THRESHOLD
    private static let trimThreshold: Int32 = -1   // M_TRIM_THRESHOLD

    /// Idempotent; the CLI calls it once at start.
    public static func keepLargeAllocations() {
        _ = mallopt(mmapThreshold, 64 << 20)
        _ = mallopt(trimThreshold, 128 << 20)
    }
}
