import Foundation
import Testing

/// A CA, a server certificate for 127.0.0.1 (an IP entry only) and a client certificate, made
/// with /usr/bin/openssl in a test's directory; a server certificate for the DNS name
/// `redis.test` only; and a second CA that signed none of them. Keys are P-256: RSA key generation
/// was most of the CPU openssl took in `make test`.
struct TestCertificates {
    let ca: String
    let serverCertificate: String
    let serverKey: String
    let clientCertificate: String
    let clientKey: String
    /// A CA that did not sign the server's certificate.
    let otherCA: String
    /// Signed by `ca` for `namedServerName` (a DNS entry, no IP address).
    let namedServerCertificate: String
    let namedServerKey: String
    let namedServerName = "redis.test"

    init(in directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        func path(_ name: String) -> String { directory + "/" + name }
        ca = path("ca.crt"); serverCertificate = path("server.crt"); serverKey = path("server.key")
        clientCertificate = path("client.crt"); clientKey = path("client.key"); otherCA = path("other-ca.crt")
        namedServerCertificate = path("named.crt"); namedServerKey = path("named.key")
        let newKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
        try Self.openssl(["req", "-x509"] + newKey + ["-nodes", "-keyout", path("ca.key"), "-out", ca,
                          "-days", "2", "-subj", "/CN=Cairn test CA"])
        try Self.openssl(["req", "-x509"] + newKey + ["-nodes", "-keyout", path("other-ca.key"), "-out", otherCA,
                          "-days", "2", "-subj", "/CN=Another CA"])
        try "subjectAltName=IP:127.0.0.1\n".write(toFile: path("server.ext"), atomically: true, encoding: .utf8)
        try "extendedKeyUsage=clientAuth\n".write(toFile: path("client.ext"), atomically: true, encoding: .utf8)
        try "subjectAltName=DNS:\(namedServerName)\n".write(toFile: path("named.ext"), atomically: true, encoding: .utf8)
        for (name, subject) in [("server", "/CN=redis test server"), ("client", "/CN=cairn"), ("named", "/CN=\(namedServerName)")] {
            try Self.openssl(["req"] + newKey + ["-nodes", "-keyout", path("\(name).key"), "-out", path("\(name).csr"),
                              "-subj", subject])
            try Self.openssl(["x509", "-req", "-in", path("\(name).csr"), "-CA", ca, "-CAkey", path("ca.key"), "-CAcreateserial",
                              "-out", path("\(name).crt"), "-days", "2", "-extfile", path("\(name).ext")])
        }
    }

    private static func openssl(_ arguments: [String]) throws {
        let pid = try Spawn.start("/usr/bin/openssl", arguments, stdout: "/dev/null", stderr: "/dev/null")
        let exit = Spawn.wait(pid)
        try #require(exit.status == 0, "openssl \(arguments.joined(separator: " ")) failed")
    }
}
