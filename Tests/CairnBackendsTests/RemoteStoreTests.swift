@testable import CairnBackends
import CairnCore
import Foundation
import Glibc
import Testing

extension ObjectStoreTests {
    /// What only the remote stores do: tokens, refusals, naming, the private spool directory.
    @Suite("Swift and S3 specifics", .disabled(if: ObjectStoreServer.skipped, "CAIRN_SKIP_OBJECTSTORE=1"))
    struct RemoteSpecifics {
        func swiftStore(key: String? = nil, prefix: String = "p") throws -> SwiftStore {
            let server = try ObjectStoreServer.require()
            return try SwiftStore(container: StoreKind.uniqueName(), prefix: prefix,
                                  authentication: .tempAuth(url: server.authURL, user: server.user, key: key ?? server.key),
                                  requestTimeout: 30)
        }

        func s3Store(secret: String? = nil, prefix: String = "p") throws -> S3Store {
            let server = try ObjectStoreServer.require()
            return try S3Store(endpoint: URL(string: "http://" + server.s3Endpoint)!, bucket: StoreKind.uniqueName(), prefix: prefix,
                               credentials: S3Credentials(accessKeyID: server.accessKey, secretAccessKey: secret ?? server.secretKey),
                               requestTimeout: 30)
        }

        /// Expiring every TempAuth token (they live in memcached) makes the next request get a 401;
        /// the store must authenticate again once and carry on.
        @Test func swiftRenewsAnExpiredToken() throws {
            let server = try ObjectStoreServer.require()
            let store = try swiftStore()
            try store.put(ObjectKey(.snapshots, "s"), bytes: [1, 2, 3])
            let first = try #require(store.tokenInUse)
            try Self.flushMemcached(try #require(server.environment["SAIO_MEMCACHED"]))
            #expect(try store.get(ObjectKey(.snapshots, "s")) == [1, 2, 3])
            let second = try #require(store.tokenInUse)
            #expect(first != second)
        }

        @Test func swiftRefusesAWrongKeyWithoutRetrying() throws {
            let store = try swiftStore(key: "not-the-key")
            do {
                try store.create()
                Issue.record("a wrong key must be refused")
            } catch let error as StoreError {
                #expect(error.category == .failure)
                #expect(!error.isRetryable)
                #expect(error.message.contains("refused"))
            }
        }

        @Test func s3RefusesAWrongSecretWithoutRetrying() throws {
            let store = try s3Store(secret: "not-the-secret")
            do {
                try store.put(ObjectKey(.snapshots, "s"), bytes: [1])
                Issue.record("a wrong secret must be refused")
            } catch let error as StoreError {
                #expect(error.category == .failure)
                #expect(!error.isRetryable)
                #expect("\(error)".contains("403"))
            }
        }

        /// The first upload into a container or bucket that does not exist yet creates it.
        @Test func firstUploadCreatesTheContainerOrBucket() throws {
            let stores: [any ObjectStore] = [try swiftStore(), try s3Store()]
            for store in stores {
                #expect(try store.list(.snapshots).isEmpty)
                try store.put(ObjectKey(.snapshots, "first"), bytes: [9])
                #expect(try store.get(ObjectKey(.snapshots, "first")) == [9], "\(store.location)")
            }
        }

        /// Prefixes with spaces and non-ASCII letters are encoded the same way in the URL and in
        /// the S3 signature; the decorated stack the CLI builds passes everything through.
        @Test func awkwardPrefixesThroughTheDecoratedStack() throws {
            let prefix = "team a/réplica+1"
            let stores: [any ObjectStore] = [try swiftStore(prefix: prefix), try s3Store(prefix: prefix)]
            for remote in stores {
                let store = ConcurrencyLimitedStore(RetryingStore(remote), limit: 4)
                try store.create()
                try store.put(ObjectKey(.keys, "k1"), bytes: [1])
                try store.put(.config, bytes: [2, 3])
                #expect(try store.list(.keys) == [ObjectInfo(key: ObjectKey(.keys, "k1"), size: 1)], "\(store.location)")
                #expect(try store.get(.config) == [2, 3])
                #expect(try store.get(.config, offset: 1, length: 1) == [3])
                #expect(store.location.hasSuffix("/" + prefix))
            }
        }

        @Test func spoolDirectoryIsPrivateAndGoesWithTheStore() throws {
            for makeStore in [{ try swiftStore() as any ObjectStore }, { try s3Store() as any ObjectStore }] {
                var store: (any ObjectStore)? = try makeStore()
                let spool = try #require(store?.spoolDirectory)
                var info = Glibc.stat()
                #expect(lstat(spool, &info) == 0)
                #expect(info.st_mode & 0o777 == 0o700)
                try Data([1, 2, 3]).write(to: URL(fileURLWithPath: spool + "/leftover"))
                store = nil
                #expect(store == nil)
                #expect(!FileManager.default.fileExists(atPath: spool))
            }
        }

        static func flushMemcached(_ address: String) throws {
            let parts = address.split(separator: ":")
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(fd) }
            var target = sockaddr_in()
            target.sin_family = sa_family_t(AF_INET)
            target.sin_addr.s_addr = inet_addr(String(parts[0]))
            target.sin_port = UInt16(parts[1])!.bigEndian
            let connected = withUnsafePointer(to: &target) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard connected == 0 else { throw HarnessError("cannot connect to memcached at \(address)") }
            let command = Array("flush_all\r\n".utf8)
            _ = command.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
            var reply = [UInt8](repeating: 0, count: 64)
            let got = reply.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard got > 0, String(decoding: reply[..<got], as: UTF8.self).hasPrefix("OK") else {
                throw HarnessError("memcached did not flush")
            }
        }
    }
}
