import CairnCore
import CZstd

/// Compression algorithm ids stored per blob. Never reused.
public enum CompressionAlgorithm: UInt8, Sendable {
    case none = 0
    case zstd = 1
}

/// A zstd compression context, reused across calls. One per thread (not thread-safe).
public final class ZstdCompressor {
    private let context: OpaquePointer
    private let level: Int32
    private var output: [UInt8] = []

    public init(level: Int32) {
        context = ZSTD_createCCtx()
        self.level = level
        ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, level)
    }

    deinit { ZSTD_freeCCtx(context) }

    /// The compressed bytes, or nil when compression does not make the data smaller.
    public func compress(_ input: UnsafeRawBufferPointer) throws -> [UInt8]? {
        try compress(input) { compressed in compressed.map { Array($0) } }
    }

    /// Compresses `input` and lends the frame to `body`, or nil when compression does not make
    /// the data smaller. The frame lives in this compressor's buffer, valid only during `body`:
    /// a backup seals it from there rather than copying each frame into an array first.
    public func compress<Result>(_ input: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer?) throws -> Result) throws -> Result {
        guard input.count > 0 else { return try body(nil) }
        let bound = ZSTD_compressBound(input.count)
        if output.count < bound { output = [UInt8](repeating: 0, count: bound) }
        let written = output.withUnsafeMutableBytes { out in
            ZSTD_compress2(context, out.baseAddress, bound, input.baseAddress, input.count)
        }
        if ZSTD_isError(written) != 0 {
            throw CodecError(.failure, "zstd compression failed: \(String(cString: ZSTD_getErrorName(written)))")
        }
        guard written < input.count else { return try body(nil) }
        return try output.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[0..<written])) }
    }
}

/// A zstd decompression context, reused across calls. One per thread.
public final class ZstdDecompressor {
    private let context: OpaquePointer

    public init() { context = ZSTD_createDCtx() }

    deinit { ZSTD_freeDCtx(context) }

    /// Decompresses a frame that must decode to exactly `rawLength` bytes. A single frame that
    /// declares another size is refused before the output is allocated.
    public func decompress(_ input: UnsafeRawBufferPointer, rawLength: Int) throws -> [UInt8] {
        guard rawLength >= 0 else { throw CodecError(.integrity, "a zstd frame cannot decode to \(rawLength) bytes") }
        if let declared = Self.contentSize(of: input), declared != rawLength,
           ZSTD_findFrameCompressedSize(input.baseAddress, input.count) == input.count {
            throw CodecError(.integrity, "zstd frame declares \(declared) bytes, expected \(rawLength)")
        }
        var output = [UInt8](repeating: 0, count: rawLength)
        let written = output.withUnsafeMutableBytes { out in
            ZSTD_decompressDCtx(context, out.baseAddress, rawLength, input.baseAddress, input.count)
        }
        if ZSTD_isError(written) != 0 {
            throw CodecError(.integrity, "zstd frame is corrupt: \(String(cString: ZSTD_getErrorName(written)))")
        }
        guard written == rawLength else {
            throw CodecError(.integrity, "zstd frame decoded to \(written) bytes, expected \(rawLength)")
        }
        return output
    }

    /// The decoded size a frame declares in its header (every frame Cairn writes does), or nil.
    public static func contentSize(of frame: UnsafeRawBufferPointer) -> Int? {
        let size = ZSTD_getFrameContentSize(frame.baseAddress, frame.count)
        // ZSTD_CONTENTSIZE_UNKNOWN and ZSTD_CONTENTSIZE_ERROR are the two largest values.
        guard size < UInt64.max - 1, size <= UInt64(Int32.max) else { return nil }
        return Int(size)
    }

    /// Decompresses a frame straight into `output`, which it must fill exactly.
    public func decompress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws {
        let written = ZSTD_decompressDCtx(context, output.baseAddress, output.count, input.baseAddress, input.count)
        if ZSTD_isError(written) != 0 {
            throw CodecError(.integrity, "zstd frame is corrupt: \(String(cString: ZSTD_getErrorName(written)))")
        }
        guard written == output.count else {
            throw CodecError(.integrity, "zstd frame decoded to \(written) bytes, expected \(output.count)")
        }
    }
}
