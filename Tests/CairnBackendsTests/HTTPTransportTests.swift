@testable import CairnBackends
import CairnTestSupport
import Foundation
import Glibc
import Testing

/// The transport against a small real HTTP server (Python's http.server, over TLS where a test
/// asks): what the object-store suites on loopback cannot show, as Swift and S3 there speak plain
/// HTTP without a proxy.
@Suite("HTTP transport")
struct HTTPTransportTests {
    @Test func aFileIsSentOverTLSToAServerTrustedThroughSSLCertFile() throws {
        let server = try TestHTTPServer(tls: true)
        defer { server.stop() }
        // 3 MiB and a bit: several of the 1 MiB reads that go over TLS, the last one short.
        let content = (0..<(3 << 20) + 4099).map { UInt8(truncatingIfNeeded: $0 &* 7919 >> 3) }
        let file = server.directory + "/body"
        try Data(content).write(to: URL(fileURLWithPath: file))
        let transport = HTTPTransport(requestTimeout: 10, network: NetworkSettings(environment: ["SSL_CERT_FILE": server.certificate]))

        let put = try transport.send("PUT", server.url("/o/a"), body: .file(file))
        #expect(put.status == 201)
        #expect(put.header("etag") == UploadDigest(bytes: content, withSHA256: false).md5Hex, "the server got every byte")
        let whole = try transport.send("GET", server.url("/o/a"))
        #expect(whole.status == 200)
        #expect(whole.body == content)
        let part = try transport.send("GET", server.url("/o/a"), headers: ["Range": "bytes=1048570-1048579"])
        #expect(part.status == 206)
        #expect(part.body == Array(content[1_048_570...1_048_579]))
    }

    @Test func aCertificateNotTrustedIsRefusedAndNotRetried() throws {
        let server = try TestHTTPServer(tls: true)
        defer { server.stop() }
        let transport = HTTPTransport(requestTimeout: 10, network: .direct)
        let started = Date()
        do {
            _ = try transport.send("GET", server.url("/o/a"))
            Issue.record("a server whose certificate nothing trusts must be refused")
        } catch let failure as RemoteFailure {
            #expect(!failure.isRetryable)
            #expect("\(failure)".contains("TLS"), "\(failure)")
        }
        #expect(Date().timeIntervalSince(started) < 5, "the refusal is not waited out to the timeout")
    }

    /// The target's name does not resolve here: the answers can only have come through the proxy,
    /// which tunnels every CONNECT to the TLS server (whose certificate names the target).
    @Test func requestsGoThroughTheProxyTheEnvironmentNames() throws {
        let server = try TestHTTPServer(tls: true)
        defer { server.stop() }
        let proxy = try TestHTTPServer(tls: false, tunnelingTo: server.port)
        defer { proxy.stop() }
        let file = server.directory + "/body"
        try Data([1, 2, 3, 4, 5]).write(to: URL(fileURLWithPath: file))
        let network = NetworkSettings(environment: ["https_proxy": "http://127.0.0.1:\(proxy.port)", "SSL_CERT_FILE": server.certificate])
        let transport = HTTPTransport(requestTimeout: 10, network: network)
        let target = URL(string: "https://\(TestHTTPServer.name):8443/o/b")!
        #expect(try transport.send("PUT", target, body: .file(file)).status == 201)
        #expect(try transport.send("GET", target).body == [1, 2, 3, 4, 5])
        let tunnels = try proxy.requestLines()
        #expect(!tunnels.isEmpty && tunnels.allSatisfy { $0 == "CONNECT \(TestHTTPServer.name):8443" }, "\(tunnels)")
        #expect(try server.requestLines() == ["PUT /o/b", "GET /o/b"])
    }

    @Test func anAnswerThatDoesNotComeIsATimeout() throws {
        let server = try TestHTTPServer(tls: false)
        defer { server.stop() }
        let transport = HTTPTransport(requestTimeout: 1, network: .direct)
        let started = Date()
        do {
            _ = try transport.send("GET", server.url("/hang"))
            Issue.record("an answer that never comes must time out")
        } catch let failure as RemoteFailure {
            guard case .timedOut = failure else { Issue.record("\(failure)"); return }
            #expect(failure.isRetryable)
        }
        #expect(Date().timeIntervalSince(started) < 20)
    }

    @Test func aPortNobodyListensOnIsALostConnection() throws {
        let port = try ObjectStoreServer.freePort()
        let transport = HTTPTransport(requestTimeout: 10, network: .direct)
        let started = Date()
        defer { #expect(Date().timeIntervalSince(started) < 5, "the refusal is not waited out to the timeout") }
        do {
            _ = try transport.send("GET", URL(string: "http://127.0.0.1:\(port)/o")!)
            Issue.record("nobody listens there")
        } catch let failure as RemoteFailure {
            guard case .connectionLost(let why) = failure else { Issue.record("\(failure)"); return }
            #expect(failure.isRetryable)
            #expect(why.contains("refused"), "\(why)")
        }
    }

    @Test func proxiesAreChosenAsCurlChoosesThem() {
        let https = URL(string: "https://swift.example.com/v1/AUTH_x")!
        let http = URL(string: "http://swift.example.com/v1/AUTH_x")!
        let settings = ProxySettings(environment: ["HTTPS_PROXY": "proxy.corp:3128", "HTTP_PROXY": "http://ignored:1"])
        #expect(settings.proxy(for: https) == ProxySettings.Proxy(host: "proxy.corp", port: 3128))
        #expect(settings.proxy(for: http) == nil, "curl reads http_proxy in lower case only")

        let all = ProxySettings(environment: ["all_proxy": "http://user:p%40ss@10.0.0.1", "no_proxy": "internal, .example.org"])
        #expect(all.proxy(for: http) == ProxySettings.Proxy(host: "10.0.0.1", port: 1080, user: "user", password: "p@ss"))
        #expect(all.proxy(for: URL(string: "http://internal/x")!) == nil)
        #expect(all.proxy(for: URL(string: "http://s3.example.org/x")!) == nil)
        #expect(all.proxy(for: URL(string: "http://example.org/x")!) == nil)
        #expect(all.proxy(for: URL(string: "http://notexample.org/x")!) != nil)
        #expect(all.proxy(for: URL(string: "http://127.0.0.1:8080/x")!) == nil, "loopback goes direct")
        #expect(all.proxy(for: URL(string: "http://[::1]:8080/x")!) == nil)
        #expect(ProxySettings(environment: ["https_proxy": "p:1", "NO_PROXY": "*"]).proxy(for: https) == nil)
        #expect(ProxySettings(environment: [:]).proxy(for: https) == nil)
    }
}

/// Python's http.server on 127.0.0.1 with a free port, keeping PUT bodies in memory: GET (with
/// one `Range`), HEAD, PUT (201, the body's MD5 as `ETag`), and `/hang`, which never answers.
/// With `tunnelingTo`, a proxy that takes CONNECT for any host and tunnels it to that port.
/// Every request line goes to a log.
final class TestHTTPServer {
    let directory: String
    let port: Int
    let tls: Bool
    private let pid: pid_t

    var certificate: String { directory + "/server.crt" }
    /// A name the TLS certificate holds besides 127.0.0.1, which does not resolve.
    static let name = "object-store.test"

    func url(_ path: String) -> URL { URL(string: "\(tls ? "https" : "http")://127.0.0.1:\(port)\(path)")! }

    init(tls: Bool, tunnelingTo backend: Int? = nil) throws {
        var template = Array("/tmp/cairn-http.XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw HarnessError("mkdtemp failed: errno \(errno)") }
        directory = String(cString: made)
        port = try ObjectStoreServer.freePort()
        self.tls = tls
        try Self.script.write(toFile: directory + "/server.py", atomically: true, encoding: .utf8)
        var arguments = ["/usr/bin/python3", directory + "/server.py", String(port), directory + "/requests.log"]
        if tls {
            let made = Spawn.wait(try Spawn.start(["/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                                     "-keyout", directory + "/server.key", "-out", directory + "/server.crt",
                                     "-subj", "/CN=cairn test", "-addext", "subjectAltName=IP:127.0.0.1,DNS:\(Self.name)"],
                                                  log: "/dev/null"))
            guard made == 0 else { throw HarnessError("openssl could not make a certificate (exit \(made))") }
            arguments += ["--tls", directory + "/server.crt", directory + "/server.key"]
        }
        if let backend { arguments += ["--tunnel-to", String(backend)] }
        pid = try Spawn.start(arguments, log: directory + "/server.log")
        let deadline = Date().addingTimeInterval(20)
        while !Self.accepts(port) {
            guard Date() < deadline else {
                stop()
                throw HarnessError("the test HTTP server did not start: \((try? String(contentsOfFile: directory + "/server.log", encoding: .utf8)) ?? "")")
            }
            usleep(20_000)
        }
    }

    /// "METHOD target" of every request so far.
    func requestLines() throws -> [String] {
        try String(contentsOfFile: directory + "/requests.log", encoding: .utf8).split(separator: "\n").map(String.init)
    }

    func stop() {
        kill(pid, SIGKILL)
        _ = Spawn.wait(pid)
        try? FileManager.default.removeItem(atPath: directory)
    }

    private static func accepts(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return LoopbackPort.withAddress(port) { connect(fd, $0, $1) } == 0
    }

    private static let script = #"""
        import hashlib, http.server, select, socket, ssl, sys, time

        port, log = int(sys.argv[1]), sys.argv[2]
        options = sys.argv[3:]
        objects = {}

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def key(self):
                with open(log, "a") as out:
                    out.write(f"{self.command} {self.path}\n")
                return self.path

            def answer(self, status, body=b"", headers=None, send_body=True):
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if send_body:
                    self.wfile.write(body)

            def do_CONNECT(self):
                self.key()
                backend = socket.create_connection(("127.0.0.1", int(options[options.index("--tunnel-to") + 1])))
                self.send_response(200, "Connection established")
                self.end_headers()
                ends = [self.connection, backend]
                while True:
                    for end in select.select(ends, [], [])[0]:
                        data = end.recv(65536)
                        if not data:
                            backend.close()
                            self.close_connection = True
                            return
                        (backend if end is self.connection else self.connection).sendall(data)

            def do_PUT(self):
                key = self.key()
                body = self.rfile.read(int(self.headers["Content-Length"]))
                objects[key] = body
                self.answer(201, headers={"ETag": hashlib.md5(body).hexdigest()})

            def do_GET(self, send_body=True):
                key = self.key()
                if key == "/hang":
                    time.sleep(600)
                if key not in objects:
                    return self.answer(404, b"not found", send_body=send_body)
                body, wanted = objects[key], self.headers.get("Range")
                if wanted:
                    first, last = (int(n) for n in wanted.split("=", 1)[1].split("-"))
                    return self.answer(206, body[first:last + 1], send_body=send_body)
                self.answer(200, body, send_body=send_body)

            def do_HEAD(self):
                self.do_GET(send_body=False)

        server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        if "--tls" in options:
            at = options.index("--tls")
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(options[at + 1], options[at + 2])
            server.socket = context.wrap_socket(server.socket, server_side=True)
        server.serve_forever()
        """#
}
