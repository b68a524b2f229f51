@testable import CairnBackends
import CairnCore
import Testing

/// How an upload's answer is checked against the MD5 that was sent, and how damage in transit is
/// classified (the live fault tests in CairnCLITests cause the real thing through a proxy).
@Suite struct UploadIntegrityTests {
    let digest = UploadDigest(bytes: Array("a pack".utf8), withSHA256: false)

    @Test func anAnswerWithTheMD5SentOrWithoutOneIsAccepted() throws {
        try StoreError.checkUploadETag(digest.md5Hex, sent: digest, "swift://c/p/data/ab/ab12")
        try StoreError.checkUploadETag(nil, sent: digest, "swift://c/p/data/ab/ab12")
    }

    @Test func anAnswerWithAnotherMD5IsARetryableIntegrityError() {
        let other = String(repeating: "0", count: 32)
        do {
            try StoreError.checkUploadETag(other, sent: digest, "swift://c/p/data/ab/ab12")
            Issue.record("another MD5 must be refused")
        } catch let error as StoreError {
            #expect(error.category == .integrity)
            #expect(error.isRetryable)
            #expect(error.message.contains("data/ab/ab12") && error.message.contains(other))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func etagsAreReadAsMD5sOnlyWhenTheyAreOne() {
        func answer(_ headers: [String: String]) -> HTTPResponse { HTTPResponse(status: 201, headers: headers, body: []) }
        let md5 = digest.md5Hex
        #expect(SwiftStore.md5ETag(answer(["etag": md5.uppercased()])) == md5)
        #expect(SwiftStore.md5ETag(answer(["etag": "\"\(md5)\""])) == md5)
        #expect(SwiftStore.md5ETag(answer(["etag": "not-an-md5"])) == nil)
        #expect(SwiftStore.md5ETag(answer([:])) == nil)
        #expect(S3Store.plainMD5ETag(answer(["etag": "\"\(md5)\""])) == md5)
        #expect(S3Store.plainMD5ETag(answer(["etag": "\"\(md5)-3\""])) == nil, "a multipart ETag is no MD5")
        #expect(S3Store.plainMD5ETag(answer(["etag": "\"\(md5)\"", "x-amz-server-side-encryption": "aws:kms"])) == nil)
    }

    @Test(arguments: [RemoteFailure.damagedInTransit("x"), .timedOut, .connectionLost("reset"), .status(503, detail: "")])
    func passingFaultsAreRetryable(_ failure: RemoteFailure) {
        #expect(failure.isRetryable)
    }

    @Test(arguments: [RemoteFailure.status(422, detail: ""), .status(400, detail: "BadDigest"), .transport("TLS")])
    func finalAnswersAreNot(_ failure: RemoteFailure) {
        // A bare 422 or 400 (not classified as damage by the store) stays final.
        #expect(!failure.isRetryable)
    }
}
