import CairnCore
import CairnTestSupport

extension SplitMix64 {
    mutating func snapshotID() -> SnapshotID {
        SnapshotID(Hash256(w0: next(), w1: next(), w2: next(), w3: next()))
    }
}
