import CairnCore
import CairnEngine
import Foundation

/// Redraws one status line on a terminal while long work runs: bytes, files, rate, ETA.
/// Off the terminal (cron) it draws nothing; commands print one summary line at the end.
final class ProgressRenderer: @unchecked Sendable {
    private let progress: WorkProgress
    private let verb: String
    /// What `WorkProgress` counts as files: "files", or "packs" for a check.
    private let unit: String
    private let started = Date()
    private var timer: DispatchSourceTimer?

    init(_ progress: WorkProgress, verb: String, unit: String = "files", enabled: Bool) {
        self.progress = progress
        self.verb = verb
        self.unit = unit
        guard enabled && Console.stderrIsTerminal else { return }
        let timer = DispatchSource.makeTimerSource(queue: DispatchQueue.global())
        timer.schedule(deadline: .now() + 0.5, repeating: 0.5)
        timer.setEventHandler { [weak self] in self?.draw() }
        timer.resume()
        self.timer = timer
    }

    private func draw() {
        let reading = progress.reading
        let elapsed = Date().timeIntervalSince(started)
        let rate = elapsed > 0 ? Double(reading.bytes) / elapsed : 0
        var line = "\(verb) \(Rendering.size(reading.bytes))"
        if reading.totalBytes > 0 {
            let percent = min(100, Int(Double(reading.bytes) * 100 / Double(reading.totalBytes)))
            line += " / \(Rendering.size(reading.totalBytes)) \(percent)%"
            if rate > 0 {
                let remaining = Double(max(0, reading.totalBytes - reading.bytes)) / rate
                line += "  ETA \(Int(remaining))s"
            }
        }
        let rateText = Rendering.size(Int64(rate))
        line += "  " + rateText + "/s  " + unit + " " + String(reading.files)
        if reading.totalFiles > 0 { line += "/\(reading.totalFiles)" }
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
    }

    func stop() {
        guard let timer else { return }
        timer.cancel()
        self.timer = nil
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}
