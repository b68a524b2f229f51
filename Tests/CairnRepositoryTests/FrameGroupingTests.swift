@testable import CairnRepository
import Testing

/// Which new chunks share a zstd frame: only chunks that follow one another in their file, at
/// most `SealingStage.frameBytes` together, and never in a format 1 repository.
@Suite("Frames of new chunks")
struct FrameGroupingTests {
    @Test func adjacentChunksShareFramesUpToTheLimit() {
        let limit = SealingStage.frameBytes
        let lengths = [2048, 2048, limit - 4096, 100, 5000, 6000, limit + 1, 300, 300]
        let follows = [false, true, true, true, true, false, true, true, true]
        let frames = SealingStage.frames(lengths: lengths, followsPrevious: follows, layout: .v2)
        // 0-2 fill the limit exactly; 3 would pass it, so it starts the next; 5 does not follow 4;
        // 6 is larger than a frame and stands alone; 7-8 follow it in a frame of their own.
        #expect(frames == [0..<3, 3..<5, 5..<6, 6..<7, 7..<9])
    }

    @Test func formatOneKeepsOneChunkPerBlob() {
        let frames = SealingStage.frames(lengths: [100, 200, 300], followsPrevious: [false, true, true], layout: .v1)
        #expect(frames == [0..<1, 1..<2, 2..<3])
    }

    @Test func noChunksNoFrames() {
        #expect(SealingStage.frames(lengths: [], followsPrevious: [], layout: .v2).isEmpty)
    }
}
