@testable import CairnBackends
import CairnCore
import Dispatch
import Foundation
import Testing

/// Everything that needs the live servers runs inside this suite, so one Swift All-In-One
/// serves them all.
@Suite("Object stores: local, and live on loopback (Swift All-In-One and its S3 API)", .objectStoreServer)
struct ObjectStoreTests {}

extension ObjectStoreTests {
    /// One suite, the same tests, every store: what `ObjectStore` promises must hold for a local
    /// directory and for real object stores on loopback alike.
    @Suite("ObjectStore conformance")
    struct Conformance {
        static func bytes(_ count: Int, seed: UInt64) -> [UInt8] {
            var state = seed &+ 0x9E37_79B9_7F4A_7C15
            var out = [UInt8](repeating: 0, count: count)
            for index in out.indices {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                out[index] = UInt8(truncatingIfNeeded: state >> 33)
            }
            return out
        }

        static func packKey(_ seed: UInt64) -> ObjectKey {
            ObjectKey(.data, Hex.encode(Array(bytes(32, seed: seed))))
        }

        static func expectCategory(_ category: FailureCategory, sourceLocation: SourceLocation = #_sourceLocation,
                                   _ body: () throws -> Void) {
            do {
                try body()
                Issue.record("expected a StoreError with category .\(category)", sourceLocation: sourceLocation)
            } catch let error as StoreError {
                #expect(error.category == category, "\(error)", sourceLocation: sourceLocation)
            } catch {
                Issue.record("expected a StoreError, got \(error)", sourceLocation: sourceLocation)
            }
        }

        @Test(arguments: StoreKind.selected)
        func putGetStatAndDelete(_ kind: StoreKind) throws {
            let (store, cleanUp) = try kind.makeStore()
            defer { cleanUp() }
            let key = Self.packKey(1)
            let content = Self.bytes(10_000, seed: 1)
            try store.put(key, bytes: content)
            #expect(try store.get(key) == content)
            #expect(try store.stat(key) == ObjectInfo(key: key, size: 10_000))
            try store.put(.config, bytes: Array("{}".utf8))
            #expect(try store.get(.config) == Array("{}".utf8))
            try store.delete(key)
            #expect(try store.stat(key) == nil)
            try store.delete(key)
            Self.expectCategory(.inputNotFound) { _ = try store.get(key) }
        }

        @Test(arguments: StoreKind.selected)
        func missingObjectsAreNotFoundAndAnEmptyStoreListsNothing(_ kind: StoreKind) throws {
            let (store, cleanUp) = try kind.makeStore()
            defer { cleanUp() }
            let key = ObjectKey(.snapshots, "nothing-here")
            Self.expectCategory(.inputNotFound) { _ = try store.get(key) }
            Self.expectCategory(.inputNotFound) { _ = try store.get(key, offset: 0, length: 4) }
            #expect(try store.stat(key) == nil)
            #expect(try store.stat(.config) == nil)
            try store.delete(key)
            for objectKind in ObjectKind.allCases {
                #expect(try store.list(objectKind).isEmpty, "\(objectKind)")
            }
        }

        @Test(arguments: StoreKind.selected)
        func rangedReads(_ kind: StoreKind) throws {
            let (store, cleanUp) = try kind.makeStore()
            defer { cleanUp() }
            let key = Self.packKey(2)
            let content = Self.bytes(100_000, seed: 2)
            try store.put(key, bytes: content)
            #expect(try store.get(key, offset: 0, length: 1) == [content[0]])
            #expect(try store.get(key, offset: 12_345, length: 50_000) == Array(content[12_345..<62_345]))
            #expect(try store.get(key, offset: 99_996, length: 4) == Array(content[99_996...]))
            #expect(try store.get(key, offset: 500, length: 0) == [])
            Self.expectCategory(.integrity) { _ = try store.get(key, offset: 99_998, length: 5) }
            Self.expectCategory(.integrity) { _ = try store.get(key, offset: 200_000, length: 5) }
        }

        @Test(arguments: StoreKind.selected)
        func listingNamesEveryObjectOfAKindWithItsSize(_ kind: StoreKind) throws {
            let (store, cleanUp) = try kind.makeStore()
            defer { cleanUp() }
            let packs = (10..<17).map { Self.packKey($0) }
            for (index, key) in packs.enumerated() { try store.put(key, bytes: Self.bytes(index + 1, seed: 3)) }
            try store.put(ObjectKey(.index, "aa11"), bytes: [1, 2, 3])
            try store.put(ObjectKey(.snapshots, "s1"), bytes: [4])
            try store.put(ObjectKey(.snapshots, "s2"), bytes: [5, 6])
            try store.put(.config, bytes: [7, 8, 9, 10])

            let listed = try store.list(.data)
            #expect(Set(listed.map(\.key)) == Set(packs))
            #expect(listed.count == packs.count)
            for (index, key) in packs.enumerated() {
                #expect(listed.first { $0.key == key }?.size == Int64(index + 1))
            }
            // When each was written, as the store says (stale unreadable locks are judged by it):
            // a file's mtime, or the listing's time parsed from Swift's and S3's own formats.
            for info in listed {
                let age = try #require(info.modified, "\(info.key) has no time in the listing").timeIntervalSinceNow
                #expect(abs(age) < 300, "\(info.key) was written \(-age) s ago by the listing")
            }
            #expect(try store.list(.index) == [ObjectInfo(key: ObjectKey(.index, "aa11"), size: 3)])
            #expect(Set(try store.list(.snapshots).map(\.key.name)) == ["s1", "s2"])
            #expect(try store.list(.config) == [ObjectInfo(key: .config, size: 4)])
            #expect(try store.list(.keys).isEmpty)
            #expect(try store.list(.locks).isEmpty)
        }

        @Test(arguments: StoreKind.selected)
        func listingPagesThroughMoreNamesThanOnePageHolds(_ kind: StoreKind) throws {
            let (store, cleanUp) = try kind.makeStore(listingPageSize: 3)
            defer { cleanUp() }
            let names = (0..<10).map { String(format: "lock-%02d", $0) }
            for name in names { try store.put(ObjectKey(.locks, name), bytes: Array(name.utf8)) }
            let packs = (20..<27).map { Self.packKey($0) }
            for key in packs { try store.put(key, bytes: [1]) }
            let locks = try store.list(.locks)
            #expect(locks.map(\.key.name).sorted() == names)
            #expect(Set(try store.list(.data).map(\.key)) == Set(packs))
            #expect(try store.list(.data).count == 7)
        }

        @Test(arguments: StoreKind.selected)
        func puttingTheSameBytesAgainIsHarmless(_ kind: StoreKind) throws {
            let (store, cleanUp) = try kind.makeStore()
            defer { cleanUp() }
            let key = ObjectKey(.index, "same")
            let content = Self.bytes(4096, seed: 4)
            try store.put(key, bytes: content)
            try store.put(key, bytes: content)
            #expect(try store.get(key) == content)
            #expect(try store.list(.index).count == 1)
        }

        @Test(arguments: StoreKind.selected)
        func largeObjectFromTheSpoolDirectory(_ kind: StoreKind) throws {
            let (store, cleanUp) = try kind.makeStore()
            defer { cleanUp() }
            let content = Self.bytes(20 << 20, seed: 5)
            let spooled = store.spoolDirectory + "/pack-large"
            try Data(content).write(to: URL(fileURLWithPath: spooled))
            let key = Self.packKey(5)
            try store.put(key, contentsOf: spooled)
            #expect(!FileManager.default.fileExists(atPath: spooled), "the spooled file is handed over")
            #expect(try store.stat(key)?.size == Int64(20 << 20))
            let back = try store.get(key)
            #expect(back.count == content.count)
            #expect(back == content)
            #expect(try store.get(key, offset: Int64(20 << 20) - 1000, length: 1000) == Array(content.suffix(1000)))
        }

        /// A pack's writer computes its digests as it writes it; remote stores send them instead of
        /// reading the file again, and the server checks the bytes against them: a wrong MD5 is an
        /// upload refused (and nothing stored), not a damaged object.
        @Test(arguments: StoreKind.selected)
        func digestsFromTheWriterAreSentAndChecked(_ kind: StoreKind) throws {
            let (store, cleanUp) = try kind.makeStore()
            defer { cleanUp() }
            #expect(store.wantsContentDigests == (kind != .local))
            let content = Self.bytes(3 << 20, seed: 8)
            let computed = UploadDigest(bytes: content, withSHA256: true)
            let right = ContentDigests(md5: computed.md5, sha256: computed.sha256, size: Int64(content.count))
            let spooled = store.spoolDirectory + "/pack-digests"
            try Data(content).write(to: URL(fileURLWithPath: spooled))
            try store.put(Self.packKey(8), contentsOf: spooled, digests: right)
            #expect(try store.get(Self.packKey(8)) == content)

            var wrong = right
            wrong.md5[0] ^= 0xff
            let again = store.spoolDirectory + "/pack-digests-wrong"
            try Data(content).write(to: URL(fileURLWithPath: again))
            if kind == .local {
                // A local store has no server to check: it ignores digests.
                try store.put(Self.packKey(9), contentsOf: again, digests: wrong)
                #expect(try store.get(Self.packKey(9)) == content)
            } else {
                #expect(throws: (any Error).self) { try store.put(Self.packKey(9), contentsOf: again, digests: wrong) }
                #expect(try store.stat(Self.packKey(9)) == nil)
                try? FileManager.default.removeItem(atPath: again)
            }
        }

        @Test(arguments: StoreKind.selected)
        func concurrentPutsFromSeveralThreads(_ kind: StoreKind) throws {
            let (store, cleanUp) = try kind.makeStore()
            defer { cleanUp() }
            let failures = Failures()
            runOnThreads(8) { thread in
                for item in 0..<5 {
                    let seed = UInt64(100 + thread * 10 + item)
                    do {
                        try store.put(Self.packKey(seed), bytes: Self.bytes(1000 + item, seed: seed))
                    } catch {
                        failures.add("\(error)")
                    }
                }
            }
            #expect(failures.all.isEmpty, "\(failures.all)")
            let listed = try store.list(.data)
            #expect(listed.count == 40)
            for thread in 0..<8 {
                for item in 0..<5 {
                    let seed = UInt64(100 + thread * 10 + item)
                    #expect(try store.get(Self.packKey(seed)) == Self.bytes(1000 + item, seed: seed))
                }
            }
        }
    }
}

/// Errors collected from several threads.
final class Failures: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String] = []
    func add(_ item: String) { lock.lock(); items.append(item); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return items }
}
