import AsyncHTTPClient
import Dispatch
import Foundation
import Glibc
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// What a request sends.
enum HTTPBody {
    case empty
    case bytes([UInt8])
    /// A local file, streamed from disk by the transport.
    case file(String)
}

/// A complete HTTP answer: the body has been read to its end.
struct HTTPResponse: Sendable {
    var status: Int
    /// Header fields by lower-cased name.
    var headers: [String: String]
    var body: [UInt8]

    func header(_ name: String) -> String? { headers[name.lowercased()] }

    /// The first few hundred characters of the body, for error messages.
    var bodySnippet: String {
        let text = String(decoding: body.prefix(300), as: UTF8.self)
        return text.split(whereSeparator: \.isNewline).joined(separator: " ").trimmingCharacters(in: .whitespaces)
    }
}

/// Sends HTTP requests over AsyncHTTPClient and waits for the whole answer, so the blocking
/// `ObjectStore` calls can use it from any thread but an event loop's. Failures are thrown as
/// `RemoteFailure`; an HTTP error status is an answer, not a failure.
///
/// Connections are pooled per host (up to 16). A file body goes from the page cache to the socket
/// by sendfile(2) on plain HTTP, and in 1 MiB reads over TLS or through a proxy. Proxies (reached
/// with HTTP CONNECT, for http:// URLs too) and trusted certificates are the `NetworkSettings`'.
final class HTTPTransport: @unchecked Sendable {
    private let requestTimeout: TimeAmount
    private let resourceTimeout: TimeAmount
    private let proxies: ProxySettings
    private let trustRoots: NIOSSLTrustRoots
    private let lock = NSLock()
    /// One client per proxy in use ("" for direct connections): a client has one proxy setting.
    private var clients: [String: HTTPClient] = [:]

    /// - Parameters:
    ///   - requestTimeout: the longest wait to connect, or for the next bytes of an answer.
    ///   - resourceTimeout: the longest a whole exchange (a big upload) may take.
    ///   - network: proxies and trusted certificates.
    init(requestTimeout: TimeInterval = 60, resourceTimeout: TimeInterval = 3600, network: NetworkSettings = .direct) {
        self.requestTimeout = .milliseconds(Int64(requestTimeout * 1000))
        self.resourceTimeout = .milliseconds(Int64(resourceTimeout * 1000))
        proxies = network.proxies
        trustRoots = network.trustedCertificates.map { NIOSSLTrustRoots.file($0) } ?? .default
    }

    deinit {
        // Not `syncShutdown`: the last reference may go on any thread. The shutdown keeps the
        // client alive until its connections are closed.
        for client in clients.values { client.shutdown(queue: .global()) { _ in } }
    }

    /// Sends one request and returns the complete answer.
    func send(_ method: String, _ url: URL, headers: [String: String] = [:], body: HTTPBody = .empty) throws -> HTTPResponse {
        let proxy = proxies.proxy(for: url)
        var request: HTTPClient.Request
        do {
            request = try HTTPClient.Request(url: url, method: HTTPMethod(rawValue: method))
        } catch {
            throw RemoteFailure.transport("cannot send \(method) \(url.absoluteString): \(Self.describe(error))")
        }
        request.headers.add(name: "User-Agent", value: "cairn")
        for (name, value) in headers { request.headers.replaceOrAdd(name: name, value: value) }
        switch body {
        case .empty:
            break
        case .bytes(let bytes):
            request.body = .bytes(bytes)
        case .file(let path):
            var facts = stat()
            guard stat(path, &facts) == 0 else { throw RemoteFailure.transport("cannot read \(path) to send it") }
            if url.scheme?.lowercased() == "http" && proxy == nil {
                let handle: NIOFileHandle
                do {
                    handle = try NIOFileHandle(_deprecatedPath: path)
                } catch {
                    throw RemoteFailure.transport("cannot read \(path) to send it: \(Self.describe(error))")
                }
                // Closed once the exchange is over: AsyncHTTPClient does not say when the
                // region has left, and a complete answer to an upload means it has.
                defer { try? handle.close() }
                request.body = Self.sendfileBody(handle, size: Int(facts.st_size))
                return try execute(request, proxy: proxy, method: method)
            }
            request.body = Self.readingBody(path, size: Int(facts.st_size))
        }
        return try execute(request, proxy: proxy, method: method)
    }

    private func execute(_ request: HTTPClient.Request, proxy: ProxySettings.Proxy?, method: String) throws -> HTTPResponse {
        let collector = AnswerCollector(method: method)
        let response: HTTPResponse
        do {
            response = try client(proxy).execute(request: request, delegate: collector, deadline: .now() + resourceTimeout)
                .futureResult.wait()
        } catch {
            throw Self.classify(error)
        }
        if method != "HEAD", let declared = response.header("content-length").flatMap(Int.init), declared != response.body.count {
            throw RemoteFailure.connectionLost("the answer ended after \(response.body.count) of \(declared) bytes")
        }
        return response
    }

    /// The pooled client for `proxy`, made on first use.
    private func client(_ proxy: ProxySettings.Proxy?) -> HTTPClient {
        lock.lock()
        defer { lock.unlock() }
        let key = proxy.map { "\($0.user ?? "")@\($0.host):\($0.port)" } ?? ""
        if let client = clients[key] { return client }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = trustRoots
        var configuration = HTTPClient.Configuration(
            tlsConfiguration: tls,
            redirectConfiguration: .disallow,
            timeout: .init(connect: requestTimeout, read: requestTimeout),
            connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 16),
            proxy: proxy.map { .server(host: $0.host, port: $0.port, authorization: $0.authorization) },
            decompression: .disabled)
        // Object stores speak HTTP/1.1; one connection per request in flight spreads the work
        // over the event loops.
        configuration.httpVersion = .http1Only
        // A refused connection or a certificate not trusted fails the request at once: the
        // retries with backoff are `RetryingStore`'s, and for passing faults only.
        configuration.connectionPool.retryConnectionEstablishment = false
        let client = HTTPClient(eventLoopGroupProvider: .shared(MultiThreadedEventLoopGroup.singleton), configuration: configuration)
        clients[key] = client
        return client
    }

    /// The whole file as one `FileRegion`: the kernel copies it from the page cache to the socket.
    private static func sendfileBody(_ handle: NIOFileHandle, size: Int) -> HTTPClient.Body {
        .stream(contentLength: Int64(size)) { writer in
            writer.write(.fileRegion(FileRegion(fileHandle: handle, readerIndex: 0, endIndex: size)))
        }
    }

    /// The file in 1 MiB reads on a dispatch thread, each sent before the next is read (TLS and
    /// proxies cannot take a `FileRegion`).
    private static func readingBody(_ path: String, size: Int) -> HTTPClient.Body {
        .stream(contentLength: Int64(size)) { writer in
            let done = MultiThreadedEventLoopGroup.singleton.any().makePromise(of: Void.self)
            DispatchQueue.global().async {
                let descriptor = open(path, O_RDONLY | O_CLOEXEC)
                guard descriptor >= 0 else {
                    return done.fail(RemoteFailure.transport("cannot read \(path) to send it: \(String(cString: strerror(errno)))"))
                }
                defer { close(descriptor) }
                var sent = 0
                do {
                    while sent < size {
                        var chunk = ByteBufferAllocator().buffer(capacity: min(1 << 20, size - sent))
                        let count = chunk.writeWithUnsafeMutableBytes(minimumWritableBytes: 0) { target in
                            pread(descriptor, target.baseAddress, min(target.count, size - sent), off_t(sent))
                        }
                        guard count > 0 else {
                            throw RemoteFailure.transport("\(path) ended after \(sent) of \(size) bytes while it was sent")
                        }
                        sent += count
                        try writer.write(.byteBuffer(chunk)).wait()
                    }
                    done.succeed(())
                } catch {
                    done.fail(error)
                }
            }
            return done.futureResult
        }
    }

    // MARK: Failures

    static func classify(_ error: any Error) -> RemoteFailure {
        if let failure = error as? RemoteFailure { return failure }
        if let client = error as? HTTPClientError {
            switch client {
            case .connectTimeout, .readTimeout, .writeTimeout, .deadlineExceeded:
                return .timedOut
            case .remoteConnectionClosed, .bodyLengthMismatch, .requestStreamCancelled, .cancelled:
                return .connectionLost(describe(error))
            default:
                return .transport(describe(error))
            }
        }
        // TLS: a certificate that is not trusted, or a handshake that failed, is not passing.
        if error is NIOSSLError || error is BoringSSLError || error is NIOSSLExtraError { return .transport("TLS: \(describe(error))") }
        // Refused, reset, broken pipe, DNS, a broken answer.
        if error is NIOConnectionError || error is IOError || error is ChannelError || error is HTTPParserError
            || error is SocketAddressError {
            return .connectionLost(describe(error))
        }
        return .transport(describe(error))
    }

    /// One line for an error: what NIO and AsyncHTTPClient say, without the type names.
    static func describe(_ error: any Error) -> String {
        if let connection = error as? NIOConnectionError {
            let attempts = connection.connectionErrors.map { "\($0.target): \(describe($0.error))" }
            if let dns = connection.dnsAAAAError ?? connection.dnsAError, attempts.isEmpty {
                return "cannot resolve \(connection.host): \(dns)"
            }
            return attempts.isEmpty ? "cannot connect to \(connection.host):\(connection.port)" : attempts.joined(separator: "; ")
        }
        if let io = error as? IOError { return String(cString: strerror(io.errnoCode)) }
        return String(describing: error)
    }
}

/// How remote stores reach their servers: proxies, and the certificates trusted for TLS. The CLI
/// makes it from the environment; libraries do not read the environment themselves.
public struct NetworkSettings: Sendable {
    let proxies: ProxySettings
    /// A PEM file of CA certificates trusted instead of the system's; nil: the system's.
    public let trustedCertificates: String?

    /// Direct connections, the system's trusted certificates.
    public static let direct = NetworkSettings(environment: [:])

    /// Proxies as curl reads them (`https_proxy`, `http_proxy`, `all_proxy`, `no_proxy`, see
    /// `ProxySettings`), and `SSL_CERT_FILE` for the trusted certificates.
    public init(environment: [String: String]) {
        proxies = ProxySettings(environment: environment)
        trustedCertificates = environment["SSL_CERT_FILE"].flatMap { $0.isEmpty ? nil : $0 }
    }
}

/// Collects an answer into one array, allocated once at the size the answer declares: a ranged
/// GET of a few MiB is neither grown by doubling nor copied out of a `ByteBuffer`. Its calls come
/// one at a time, on the request's event loop.
private final class AnswerCollector: HTTPClientResponseDelegate, @unchecked Sendable {
    typealias Response = HTTPResponse

    private let method: String
    private var status = 0
    private var headers: [String: String] = [:]
    private var body: [UInt8] = []

    init(method: String) { self.method = method }

    func didReceiveHead(task: HTTPClient.Task<HTTPResponse>, _ head: HTTPResponseHead) -> EventLoopFuture<Void> {
        status = Int(head.status.code)
        for (name, value) in head.headers {
            let key = name.lowercased()
            headers[key] = headers[key].map { $0 + ", " + value } ?? value
        }
        // Reserved up to 1 GiB from what the server declares; a larger answer grows as it comes.
        if method != "HEAD", let declared = headers["content-length"].flatMap(Int.init), declared > 0 {
            body.reserveCapacity(min(declared, 1 << 30))
        }
        return task.eventLoop.makeSucceededVoidFuture()
    }

    func didReceiveBodyPart(task: HTTPClient.Task<HTTPResponse>, _ buffer: ByteBuffer) -> EventLoopFuture<Void> {
        body.append(contentsOf: buffer.readableBytesView)
        return task.eventLoop.makeSucceededVoidFuture()
    }

    func didFinishRequest(task: HTTPClient.Task<HTTPResponse>) throws -> HTTPResponse {
        HTTPResponse(status: status, headers: headers, body: body)
    }
}

/// Proxies from the environment, as curl reads them: `https_proxy` (or `HTTPS_PROXY`) for https
/// URLs, `http_proxy` (lower case only) for http, `all_proxy` (or `ALL_PROXY`) for either, and
/// `no_proxy` (or `NO_PROXY`): `*`, or a comma-separated list of host names and domain suffixes
/// that go direct. Loopback addresses always go direct.
struct ProxySettings: Sendable {
    struct Proxy: Sendable, Equatable {
        var host: String
        var port: Int
        /// Sent with Basic authorization when the proxy's URL names a user.
        var user: String? = nil
        var password: String? = nil

        var authorization: HTTPClient.Authorization? {
            user.map { .basic(username: $0, password: password ?? "") }
        }
    }

    private let https: Proxy?
    private let http: Proxy?
    private let bypass: [String]

    init(environment: [String: String]) {
        func first(_ names: String...) -> Proxy? {
            for name in names { if let value = environment[name], !value.isEmpty { return Self.parse(value) } }
            return nil
        }
        let all = first("all_proxy", "ALL_PROXY")
        https = first("https_proxy", "HTTPS_PROXY") ?? all
        http = first("http_proxy") ?? all
        bypass = (environment["no_proxy"] ?? environment["NO_PROXY"] ?? "")
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.filter { !$0.isEmpty }
    }

    /// The proxy a request to `url` goes through, or nil to connect directly.
    func proxy(for url: URL) -> Proxy? {
        guard let host = url.host?.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]")) else { return nil }
        let chosen = url.scheme?.lowercased() == "https" ? https : http
        guard let chosen else { return nil }
        if host == "localhost" || host == "::1" || host.hasPrefix("127.") { return nil }
        for entry in bypass {
            if entry == "*" { return nil }
            let domain = entry.hasPrefix(".") ? String(entry.dropFirst()) : entry
            if host == domain || host.hasSuffix("." + domain) { return nil }
        }
        return chosen
    }

    /// `http://[user:password@]host[:port]`, or the same without a scheme; port 1080 when none is given.
    static func parse(_ value: String) -> Proxy? {
        let text = value.contains("://") ? value : "http://" + value
        guard let url = URL(string: text), let host = url.host, !host.isEmpty else { return nil }
        return Proxy(host: host, port: url.port ?? 1080, user: url.user.map { $0.removingPercentEncoding ?? $0 },
                     password: url.password.map { $0.removingPercentEncoding ?? $0 })
    }
}
