import Foundation
import Glibc

/// A private (0700) temporary directory made with mkdtemp, removed with everything in it when the
/// last reference goes away. Remote stores hand it out as their `spoolDirectory`.
final class SpoolDirectory: Sendable {
    let path: String

    /// Makes `PARENT/cairn-spool.XXXXXX`; `parent` defaults to the system's temporary directory ($TMPDIR).
    init(parent: String? = nil) throws {
        var base = parent ?? FileManager.default.temporaryDirectory.path
        while base.count > 1 && base.hasSuffix("/") { base.removeLast() }
        var template = Array((base + "/cairn-spool.XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else {
            throw StoreError.fromErrno(errno, "mkdtemp", path: base)
        }
        path = String(cString: made)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }
}
