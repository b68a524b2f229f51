import CairnBackends
import CairnCatalog
import Foundation
import Glibc

/// Uploads sealed packs on background threads, at most `limit` at a time, so the next pack
/// fills while earlier ones travel. `submit` blocks while `limit` uploads are under way; the
/// first failure is kept and thrown by the next call. Uploaded packs are handed back in
/// `takeUploaded`/`drain` for the caller to index: an index object may name a pack only once
/// the pack is in the store.
final class PackUploader: @unchecked Sendable {
    private let store: any ObjectStore
    private let limit: Int
    private let faults: FaultInjector
    private let condition = NSCondition()
    private var inFlight = 0
    private var uploaded: [PackRecord] = []
    private var failure: (any Error)?

    init(store: any ObjectStore, limit: Int, faults: FaultInjector) {
        self.store = store
        self.limit = max(1, limit)
        self.faults = faults
    }

    /// Starts uploading the spool file at `path` as pack `record`. The file is the uploader's
    /// from now on: moved into the store, or removed when the upload fails.
    func submit(_ record: PackRecord, path: String, digests: ContentDigests? = nil) throws {
        condition.lock()
        while inFlight >= limit && failure == nil { condition.wait() }
        if let failure {
            condition.unlock()
            unlink(path)
            throw failure
        }
        inFlight += 1
        condition.unlock()
        let thread = Thread { [self] in upload(record, path: path, digests: digests) }
        thread.name = "cairn-upload"
        thread.start()
    }

    private func upload(_ record: PackRecord, path: String, digests: ContentDigests?) {
        var outcome: (any Error)?
        do {
            try store.put(ObjectKey(.data, record.id.hex), contentsOf: path, digestsIfKnown: digests)
            faults.reach(.afterPackUpload)
        } catch {
            unlink(path)
            outcome = error
        }
        condition.lock()
        if let outcome {
            if failure == nil { failure = outcome }
        } else {
            uploaded.append(record)
        }
        inFlight -= 1
        condition.broadcast()
        condition.unlock()
    }

    /// The packs uploaded since the last call, without waiting; throws the first failure.
    func takeUploaded() throws -> [PackRecord] {
        condition.lock()
        defer { condition.unlock() }
        if let failure { throw failure }
        let done = uploaded
        uploaded.removeAll()
        return done
    }

    /// Waits for every upload under way, then returns the packs not yet taken; throws the first failure.
    func drain() throws -> [PackRecord] {
        waitForAll()
        return try takeUploaded()
    }

    /// Waits for every upload under way, ignoring failures (after an error, before giving up).
    func waitForAll() {
        condition.lock()
        while inFlight > 0 { condition.wait() }
        condition.unlock()
    }
}
