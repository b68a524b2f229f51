/// Large-allocation tuning. swift-crypto's seal returns a fresh buffer per call and glibc hands
/// large blocks back to the kernel, costing page faults per chunk (reference/swift-probe.md 3b).
/// Raising the mmap and trim thresholds keeps those blocks in the heap for reuse.
public enum MemoryTuning {
    @_silgen_name("mallopt")
    private static func mallopt(_ parameter: Int32, _ value: Int32) -> Int32

    @_silgen_name("malloc_trim")
    private static func malloc_trim(_ pad: Int) -> Int32

    private static let mmapThreshold: Int32 = -3   // M_MMAP_THRESHOLD
    private static let trimThreshold: Int32 = -1   // M_TRIM_THRESHOLD
    private static let arenaMaximum: Int32 = -8    // M_ARENA_MAX

    /// Idempotent; the CLI calls it once at start.
    public static func keepLargeAllocations() {
        _ = mallopt(mmapThreshold, 64 << 20)
        _ = mallopt(trimThreshold, 128 << 20)
        // Each thread that allocates would otherwise get its own arena, each keeping its freed
        // blocks (the thresholds above): with the sealing, upload and decode threads that cost
        // ~20 MB of peak RSS on a 2 GB restore for no measurable speed.
        _ = mallopt(arenaMaximum, 2)
    }

    /// Gives the heap's free pages back to the kernel, after one large, short-lived allocation
    /// such as scrypt's 32 MiB: with the thresholds above it would stay resident for the whole
    /// run, and a backup's next large buffers (its two 16 MiB windows, most of which a
    /// record-chunked RDB never touches) would most likely land on those pages. Measured on a
    /// first backup of 2 GB: peak RSS 124–133 MiB before, 111–113 MiB after (docs/BENCHMARKS.md).
    public static func releaseFreeMemory() {
        _ = malloc_trim(0)
    }
}
