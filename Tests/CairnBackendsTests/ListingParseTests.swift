@testable import CairnBackends
import Foundation
import Testing

/// The listing parsers on pages a server might send. A size the parser cannot read must fail the
/// listing: taken as 0, it surfaced only later, as a damaged pack in `check` or a mismatch in
/// `mirror`.
@Suite("Listing pages")
struct ListingParseTests {
    static func s3Page(_ contents: String, truncated: Bool = false) -> [UInt8] {
        Array("""
        <?xml version="1.0" encoding="UTF-8"?>
        <ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
        <Name>b</Name><IsTruncated>\(truncated)</IsTruncated>\(truncated ? "<NextContinuationToken>t1</NextContinuationToken>" : "")
        \(contents)
        </ListBucketResult>
        """.utf8)
    }

    static func s3Object(_ key: String, size: String?) -> String {
        "<Contents><Key>\(key)</Key><LastModified>2026-12-02T10:00:00.000Z</LastModified>"
            + (size.map { "<Size>\($0)</Size>" } ?? "") + "<StorageClass>STANDARD</StorageClass></Contents>"
    }

    @Test func s3PageWithSizesIsRead() throws {
        let page = try S3ListingPage(parsing: Self.s3Page(Self.s3Object("p/data/a", size: "12")
                                                          + Self.s3Object("p/data/b", size: "0"), truncated: true),
                                     subject: "s3://h/b/p/data/")
        #expect(page.objects.map(\.key) == ["p/data/a", "p/data/b"])
        #expect(page.objects.map(\.size) == [12, 0])
        #expect(page.objects[0].modified != nil)
        #expect(page.isTruncated)
        #expect(page.nextContinuationToken == "t1")
    }

    @Test(arguments: [nil, "", "twelve", "-5", "99999999999999999999"])
    func s3PageWithAnUnreadableSizeIsRefused(size: String?) throws {
        let body = Self.s3Page(Self.s3Object("p/data/a", size: "3") + Self.s3Object("p/data/b", size: size))
        let error = try #require(throws: StoreError.self) {
            _ = try S3ListingPage(parsing: body, subject: "s3://h/b/p/data/")
        }
        #expect(error.message.contains("p/data/b"))
        #expect(error.message.contains("not a byte count"))
        #expect(!error.isRetryable)
    }

    @Test func swiftPageWithSizesIsRead() throws {
        let body = Array("""
        [{"name": "p/data/a", "bytes": 12, "hash": "x", "last_modified": "2026-12-02T10:00:00.000000"},
         {"subdir": "p/data/sub/"},
         {"name": "p/data/b", "bytes": 0, "hash": "y", "last_modified": "2026-12-02T10:00:01.000000"}]
        """.utf8)
        let page = try SwiftListingPage(parsing: body, subject: "swift://c/p/data/", detail: "")
        #expect(page.objects.map(\.name) == ["p/data/a", "p/data/b"])
        #expect(page.objects.map(\.size) == [12, 0])
        #expect(page.count == 3)
        #expect(page.last == "p/data/b")
    }

    @Test(arguments: ["", #", "bytes": null"#, #", "bytes": -5"#])
    func swiftPageWithAMissingOrNegativeSizeIsRefused(bytes: String) throws {
        let body = Array("""
        [{"name": "p/data/a", "bytes": 3}, {"name": "p/data/b"\(bytes), "hash": "y"}]
        """.utf8)
        let error = try #require(throws: StoreError.self) {
            _ = try SwiftListingPage(parsing: body, subject: "swift://c/p/data/", detail: "")
        }
        #expect(error.message.contains("p/data/b"))
        #expect(error.message.contains("not a byte count"))
    }

    @Test func swiftPageWithASizeOfTheWrongTypeIsRefused() throws {
        let body = Array(#"[{"name": "p/data/b", "bytes": "3"}]"#.utf8)
        #expect(throws: StoreError.self) {
            _ = try SwiftListingPage(parsing: body, subject: "swift://c/p/data/", detail: "")
        }
    }
}
