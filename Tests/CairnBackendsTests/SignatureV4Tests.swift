@testable import CairnBackends
import Foundation
import Testing

@Suite struct SignatureV4Tests {
    /// AWS's Signature V4 test suite, "get-vanilla".
    @Test func getVanillaFromTheAWSTestSuite() {
        let signer = SignatureV4(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                 region: "us-east-1", service: "service")
        let headers = ["Host": "example.amazonaws.com", "X-Amz-Date": "20150830T123600Z"]
        let canonical = signer.canonicalRequest(method: "GET", path: "/", query: "", headers: headers,
                                                payloadHash: SignatureV4.emptyPayloadHash)
        #expect(canonical == """
            GET
            /

            host:example.amazonaws.com
            x-amz-date:20150830T123600Z

            host;x-amz-date
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            """)
        #expect(signer.stringToSign(timestamp: "20150830T123600Z", canonicalRequest: canonical) == """
            AWS4-HMAC-SHA256
            20150830T123600Z
            20150830/us-east-1/service/aws4_request
            bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63
            """)
        #expect(signer.authorization(method: "GET", path: "/", query: "", headers: headers, payloadHash: SignatureV4.emptyPayloadHash)
            == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            + "SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
    }

    /// The S3 API reference's "GET Object" example (the first ten bytes of test.txt).
    @Test func rangedGetObjectFromTheS3Reference() {
        let signer = SignatureV4(accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                                 region: "us-east-1", service: "s3")
        let headers = ["host": "examplebucket.s3.amazonaws.com", "range": "bytes=0-9",
                       "x-amz-content-sha256": SignatureV4.emptyPayloadHash, "x-amz-date": "20130524T000000Z"]
        #expect(signer.authorization(method: "GET", path: "/test.txt", query: "", headers: headers, payloadHash: SignatureV4.emptyPayloadHash)
            == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
            + "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
    }

    @Test func timestampIsUTC() {
        #expect(SignatureV4.timestamp(Date(timeIntervalSince1970: 1_440_938_160)) == "20150830T123600Z")
    }

    @Test func queryIsSortedAndEncodedTheCanonicalWay() {
        #expect(PercentEncoding.query([("prefix", "a b/c"), ("list-type", "2"), ("continuation-token", "x+y=")])
            == "continuation-token=x%2By%3D&list-type=2&prefix=a%20b%2Fc")
        #expect(PercentEncoding.encode("backups/ü~x", keepingSlashes: true) == "backups/%C3%BC~x")
    }
}
