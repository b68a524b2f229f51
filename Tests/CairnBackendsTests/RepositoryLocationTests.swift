import CairnBackends
import Testing

@Suite struct RepositoryLocationTests {
    @Test func readsLocalSwiftAndS3Locations() throws {
        #expect(try RepositoryLocation(parsing: "/srv/backups/redis") == .local(path: "/srv/backups/redis"))
        #expect(try RepositoryLocation(parsing: "relative/repo") == .local(path: "relative/repo"))
        #expect(try RepositoryLocation(parsing: "swift://backups") == .swift(container: "backups", prefix: ""))
        #expect(try RepositoryLocation(parsing: "swift://backups/redis/host-1/") == .swift(container: "backups", prefix: "redis/host-1"))
        #expect(try RepositoryLocation(parsing: "s3://127.0.0.1:9000/bucket/a/b")
            == .s3(host: "127.0.0.1", port: 9000, bucket: "bucket", prefix: "a/b"))
        #expect(try RepositoryLocation(parsing: "s3://s3.example.com/bucket") == .s3(host: "s3.example.com", port: nil, bucket: "bucket", prefix: ""))
        #expect(try RepositoryLocation(parsing: "s3://[::1]:9000/b/p") == .s3(host: "[::1]", port: 9000, bucket: "b", prefix: "p"))
    }

    @Test(arguments: ["swift://", "s3://host-only", "s3://host:99999/b", "s3://:80/b", "ftp://x/y"])
    func refusesIncompleteOrUnknownLocations(_ text: String) {
        do {
            _ = try RepositoryLocation(parsing: text)
            Issue.record("\(text) must be refused")
        } catch let error as StoreError {
            #expect(error.category == .usage)
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func loopbackHosts() {
        #expect(RepositoryLocation.isLoopback("127.0.0.1"))
        #expect(RepositoryLocation.isLoopback("localhost"))
        #expect(RepositoryLocation.isLoopback("[::1]"))
        #expect(!RepositoryLocation.isLoopback("s3.amazonaws.com"))
        #expect(!RepositoryLocation.isLoopback("10.0.0.1"))
    }
}
