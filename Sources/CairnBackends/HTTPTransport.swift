import Dispatch
import Foundation
import Glibc
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

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

/// Sends HTTP requests over URLSession and waits for the whole answer, so the blocking
/// `ObjectStore` calls can use it from any thread. Failures are thrown as `RemoteFailure`;
/// an HTTP error status is an answer, not a failure.
final class HTTPTransport: @unchecked Sendable {
    private let session: URLSession
    private let requestTimeout: TimeInterval

    /// - Parameters:
    ///   - requestTimeout: the longest wait for the next bytes of an answer.
    ///   - resourceTimeout: the longest a whole exchange (a big upload) may take.
    init(requestTimeout: TimeInterval = 60, resourceTimeout: TimeInterval = 3600) {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = requestTimeout
        configuration.timeoutIntervalForResource = resourceTimeout
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.urlCache = nil
        configuration.httpShouldSetCookies = false
        configuration.httpMaximumConnectionsPerHost = 16
        session = URLSession(configuration: configuration)
        self.requestTimeout = requestTimeout
    }

    deinit {
        session.finishTasksAndInvalidate()
    }

    /// Sends one request and returns the complete answer.
    func send(_ method: String, _ url: URL, headers: [String: String] = [:], body: HTTPBody = .empty) throws -> HTTPResponse {
        var request = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: requestTimeout)
        request.httpMethod = method
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }

        let outcome = Outcome()
        let done = DispatchSemaphore(value: 0)
        let finish: @Sendable (Data?, URLResponse?, (any Error)?) -> Void = { data, response, error in
            outcome.set(data: data, response: response, error: error)
            done.signal()
        }
        let task: URLSessionTask
        switch body {
        case .empty:
            task = session.dataTask(with: request, completionHandler: finish)
        case .bytes(let bytes):
            task = session.uploadTask(with: request, from: Data(bytes), completionHandler: finish)
        case .file(let path):
            // A body stream is read on libcurl's thread as it sends; `uploadTask(fromFile:)` reads
            // the file through DispatchIO in small pieces and hands each across threads.
            guard let stream = InputStream(fileAtPath: path) else {
                throw RemoteFailure.transport("cannot read \(path) to send it")
            }
            if request.value(forHTTPHeaderField: "Content-Length") == nil {
                var facts = stat()
                guard stat(path, &facts) == 0 else { throw RemoteFailure.transport("cannot read \(path) to send it") }
                request.setValue(String(facts.st_size), forHTTPHeaderField: "Content-Length")
            }
            request.httpBodyStream = stream
            task = session.dataTask(with: request, completionHandler: finish)
        }
        task.resume()
        done.wait()
        return try outcome.response(method: method)
    }
}

/// The result of one task, handed from URLSession's queue to the waiting thread.
private final class Outcome: @unchecked Sendable {
    private let lock = NSLock()
    private var data: Data?
    private var response: URLResponse?
    private var error: (any Error)?

    func set(data: Data?, response: URLResponse?, error: (any Error)?) {
        lock.lock()
        defer { lock.unlock() }
        self.data = data
        self.response = response
        self.error = error
    }

    func response(method: String) throws -> HTTPResponse {
        lock.lock()
        defer { lock.unlock() }
        if let error { throw Self.classify(error) }
        guard let http = response as? HTTPURLResponse else {
            throw RemoteFailure.connectionLost("no HTTP response")
        }
        var headers: [String: String] = [:]
        for (name, value) in http.allHeaderFields {
            headers[String(describing: name).lowercased()] = String(describing: value)
        }
        let body = data.map { [UInt8]($0) } ?? []
        if method != "HEAD", let declared = headers["content-length"].flatMap(Int.init), declared != body.count {
            throw RemoteFailure.connectionLost("the answer ended after \(body.count) of \(declared) bytes")
        }
        return HTTPResponse(status: http.statusCode, headers: headers, body: body)
    }

    private static func classify(_ error: any Error) -> RemoteFailure {
        guard let urlError = error as? URLError else { return .connectionLost(String(describing: error)) }
        switch urlError.code {
        case .timedOut:
            return .timedOut
        case .networkConnectionLost, .cannotConnectToHost, .notConnectedToInternet, .cannotFindHost,
             .dnsLookupFailed, .badServerResponse, .resourceUnavailable, .cannotLoadFromNetwork:
            return .connectionLost(urlError.localizedDescription)
        default:
            return .transport("\(urlError.localizedDescription) (URLError \(urlError.code.rawValue))")
        }
    }
}
