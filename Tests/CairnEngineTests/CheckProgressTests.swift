@testable import CairnEngine
import Foundation
import Logging
import Testing

/// `check --read-data` counts what it reads, for the progress line on a terminal.
@Suite("check --read-data progress")
struct CheckProgressTests {
    @Test func progressCountsEveryPackAndByteRead() throws {
        let fixture = try RestoreFixture()
        _ = try fixture.writeSources()
        _ = try fixture.backUp()
        let progress = WorkProgress()
        let report = try CheckJob(repository: fixture.repository, readData: true, progress: progress, logger: Logger(label: "test")).run()
        #expect(report.isClean)
        #expect(report.packsChecked > 0)
        let reading = progress.reading
        #expect(reading.files == report.packsChecked)
        #expect(reading.totalFiles == report.packsChecked)
        #expect(reading.bytes == report.bytesRead)
        #expect(reading.totalBytes == report.bytesRead)
    }
}
