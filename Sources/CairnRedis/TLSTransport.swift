import Foundation
import Glibc
import NIOCore
import NIOPosix
import NIOSSL

/// TLS over TCP for `rediss://` addresses, blocking like `SocketTransport`: SwiftNIO runs the
/// connection on an event loop thread of its own, `TLSInbox` queues what arrives, and `receive`
/// waits for it with the connection's timeout. A transport that fails says which option fixes it.
final class TLSTransport: RESPTransport {
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel
    private let inbox: TLSInbox
    private let settings: RedisTLS
    private let description: String
    private var timeout: Double

    /// Connects, then completes the handshake (the server's certificate and name are verified),
    /// both within `timeout` from the call: a slow connect leaves the handshake only what remains.
    init(host: String, port: Int, settings: RedisTLS, timeout: Double, description: String) throws {
        let deadline = Self.deadline(timeout)
        self.settings = settings
        self.description = description
        self.timeout = timeout
        if let name = settings.serverName, Self.isIPAddress(name) {
            throw RedisError(.usage, "--redis-tls-server-name takes a DNS name, not an IP address (\(name))",
                             hint: "leave it out: the certificate's IP entries are checked against the address connected to")
        }
        let context = try Self.makeContext(settings)
        let serverName = settings.serverName ?? (Self.isIPAddress(host) ? nil : host)
        let inbox = TLSInbox()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(.milliseconds(Int64(max(timeout, 0.001) * 1000)))
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // Without a name, NIOSSL checks the certificate against the peer's IP address.
                    let handler = try NIOSSLClientHandler(context: context, serverHostname: serverName)
                    try channel.pipeline.syncOperations.addHandler(handler)
                    try channel.pipeline.syncOperations.addHandler(inbox)
                }
            }
        let channel: any Channel
        do {
            channel = try bootstrap.connect(host: host, port: port).wait()
        } catch {
            try? group.syncShutdownGracefully()
            throw Self.failure(error, description: description, settings: settings, connecting: true)
        }
        if let outcome = inbox.waitForHandshake(until: deadline) {
            channel.close(promise: nil)
            try? group.syncShutdownGracefully()
            if case .timedOut = outcome {
                // A plain Redis port reads the TLS hello as an unfinished command and says nothing.
                throw RedisError("no TLS handshake from \(description) within \(Int(timeout)) s",
                                 hint: "check that the port is the server's tls-port; use redis:// for a port without TLS")
            }
            throw Self.failure(outcome, description: description, settings: settings, sending: false)
        }
        self.group = group
        self.channel = channel
        self.inbox = inbox
    }

    deinit {
        channel.close(promise: nil)
        try? group.syncShutdownGracefully()
    }

    func setTimeout(_ seconds: Double) { timeout = seconds }

    func receive(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let taken = inbox.take(into: buffer, until: Self.deadline(timeout))
        guard case .bytes(let count, let resumeReading) = taken else {
            if case .closed = taken { return 0 }
            throw Self.failure(taken, description: description, settings: settings, sending: false)
        }
        if resumeReading { channel.read() }
        return count
    }

    func send(_ bytes: [UInt8]) throws {
        let written = WriteResult()
        channel.writeAndFlush(ByteBuffer(bytes: bytes)).whenComplete { result in
            written.result = result
            written.done.signal()
        }
        let deadline = timeout > 0 ? DispatchTime.now() + timeout : .distantFuture
        guard written.done.wait(timeout: deadline) == .success else {
            throw Self.failure(.timedOut, description: description, settings: settings, sending: true)
        }
        if case .failure(let error) = written.result {
            throw Self.failure(.failed(inbox.firstError ?? error), description: description, settings: settings, sending: true)
        }
    }

    /// A write's outcome, handed from the event loop to the waiting caller (`done` orders the two).
    private final class WriteResult: @unchecked Sendable {
        let done = DispatchSemaphore(value: 0)
        var result: Result<Void, any Error> = .success(())
    }

    private static func deadline(_ timeout: Double) -> Date {
        timeout > 0 ? Date(timeIntervalSinceNow: timeout) : .distantFuture
    }

    private static func isIPAddress(_ host: String) -> Bool {
        var v4 = in_addr(), v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }

    /// The client side: trust roots (the system's unless `caFile`), and the client certificate if any.
    static func makeContext(_ settings: RedisTLS) throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        if let caFile = settings.caFile {
            guard FileManager.default.isReadableFile(atPath: caFile) else {
                throw RedisError(.usage, "cannot read --redis-tls-ca \(caFile)")
            }
            configuration.trustRoots = .file(caFile)
        }
        switch (settings.certificateFile, settings.keyFile) {
        case (nil, nil):
            break
        case (let certificateFile?, let keyFile?):
            do {
                configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(certificateFile).map { .certificate($0) }
            } catch {
                throw RedisError(.usage, "cannot read a PEM certificate from --redis-tls-cert \(certificateFile)", cause: TLSFailure(error))
            }
            do {
                configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: keyFile, format: .pem))
            } catch {
                throw RedisError(.usage, "cannot read a PEM private key from --redis-tls-key \(keyFile)",
                                 hint: "an encrypted key is not supported: give the key without a passphrase, readable by root only",
                                 cause: TLSFailure(error))
            }
        default:
            throw RedisError(.usage, "--redis-tls-cert and --redis-tls-key go together")
        }
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw RedisError(.usage, "cannot set up TLS with --redis-tls-ca \(settings.caFile ?? "(the system's trust store)")"
                             + (settings.certificateFile.map { ", --redis-tls-cert \($0)" } ?? ""), cause: TLSFailure(error))
        }
    }

    private static func failure(_ taken: TLSInbox.Taken, description: String, settings: RedisTLS, sending: Bool) -> RedisError {
        switch taken {
        case .timedOut: return RedisError("timed out \(sending ? "sending to" : "waiting for") \(description)")
        case .closed: return RedisError("\(description) closed the connection")
        case .failed(let error): return failure(error, description: description, settings: settings, connecting: false)
        case .bytes: return RedisError("connection to \(description) failed")
        }
    }

    /// What a connection or TLS error means, and which option fixes it.
    static func failure(_ error: any Error, description: String, settings: RedisTLS, connecting: Bool) -> RedisError {
        if let error = error as? NIOConnectionError {
            // One failure per address the host resolved to: the one that is not a refusal says most.
            let errors = error.connectionErrors.map(\.error)
            guard let first = errors.first else { return RedisError("cannot resolve \(error.host)", cause: error) }
            let telling = errors.first { ($0 as? IOError)?.errnoCode != ECONNREFUSED } ?? first
            return failure(telling, description: description, settings: settings, connecting: connecting)
        }
        if case ChannelError.connectTimeout = error { return RESPConnection.connectError(ETIMEDOUT, description) }
        if let error = error as? IOError {
            return connecting ? RESPConnection.connectError(error.errnoCode, description)
                : RedisError("connection to \(description) failed: \(String(cString: strerror(error.errnoCode)))", cause: error)
        }
        if case NIOSSLError.uncleanShutdown = error {
            // The peer closed TCP without TLS's close_notify, as Redis does after SHUTDOWN: the same
            // words as a plain socket that reads its end.
            return RedisError("\(description) closed the connection")
        }
        let text = String(describing: error)
        let cause = TLSFailure(error)
        if text.contains("CERTIFICATE_VERIFY_FAILED") || (error as? NIOSSLExtraError) == .failedToValidateHostname {
            return RedisError("the TLS certificate of \(description) could not be verified",
                              hint: "pass --redis-tls-ca FILE with the CA that signed the server's certificate"
                                + " (default: the system's trust store), or --redis-tls-server-name NAME when it"
                                + " names the server by another name than the address",
                              cause: cause)
        }
        if text.contains("CERTIFICATE_REQUIRED") || (settings.certificateFile == nil && text.contains("HANDSHAKE_FAILURE")) {
            return RedisError("\(description) requires a client certificate (tls-auth-clients)",
                              hint: "pass --redis-tls-cert FILE and --redis-tls-key FILE", cause: cause)
        }
        if text.contains("UNKNOWN_CA") || text.contains("BAD_CERTIFICATE") || text.contains("CERTIFICATE_UNKNOWN") {
            return RedisError("\(description) refused the client certificate from --redis-tls-cert",
                              hint: "give a certificate signed by the CA in the server's tls-ca-cert-file", cause: cause)
        }
        if text.contains("WRONG_VERSION_NUMBER") || text.contains("PACKET_LENGTH_TOO_LONG") {
            return RedisError("\(description) does not answer with TLS",
                              hint: "use redis:// for a port without TLS, or the server's tls-port", cause: cause)
        }
        return RedisError("TLS connection to \(description) failed", cause: cause)
    }
}

/// A TLS error as BoringSSL names its reason (CERTIFICATE_VERIFY_FAILED, TLSV1_ALERT_UNKNOWN_CA),
/// without NIOSSL's wrapping and source locations; the error itself is kept.
struct TLSFailure: Error, CustomStringConvertible {
    let error: any Error
    let description: String

    init(_ error: any Error) {
        self.error = error
        let text = String(describing: error)
        if let start = text.range(of: "OPENSSL_internal:")?.upperBound {
            let rest = text[start...]
            description = String(rest.prefix { $0 != " " && $0 != "]" && $0 != ")" })
        } else {
            description = text
        }
    }
}
