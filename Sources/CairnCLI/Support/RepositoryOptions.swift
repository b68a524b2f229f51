import ArgumentParser
import CairnBackends
import CairnCodec
import CairnCore
import CairnEngine
import CairnRepository
import Foundation
import Logging

/// `--repo` and friends, shared by every command that opens a repository.
struct RepositoryOptions: ParsableArguments {
    @Option(name: [.customLong("repo"), .customShort("r")],
            help: ArgumentHelp("Repository location: a local path, swift://CONTAINER/PREFIX or s3://HOST[:PORT]/BUCKET/PREFIX. Default: $CAIRN_REPOSITORY.", valueName: "repo"))
    var repository: String?

    @Option(name: .customLong("cache-dir"),
            help: ArgumentHelp("Where the SQLite catalog (a rebuildable cache) lives. Default: REPO/cache for local repositories (where it cannot be written, as for remote ones), $XDG_CACHE_HOME/cairn/NAME (~/.cache/cairn/NAME) for remote ones.", valueName: "dir"))
    var cacheDirectory: String?

    @Option(help: ArgumentHelp("How long to wait for a conflicting lock (e.g. 30s, 10m, 1h). Default: do not wait.", valueName: "duration"))
    var lockWait: String?

    @Option(help: ArgumentHelp("Send at most RATE per second to a swift:// or s3:// repository: 20MiB, 500KiB, 1GiB, 20MB (a bare number is KiB). Default: no limit.", valueName: "rate"))
    var limitUpload: String?

    @Option(help: ArgumentHelp("Read at most RATE per second from a swift:// or s3:// repository, as --limit-upload. Default: no limit.", valueName: "rate"))
    var limitDownload: String?

    @Flag(name: .shortAndLong, help: "Print only errors.")
    var quiet = false

    @Flag(name: .shortAndLong, help: "Print more about what happens.")
    var verbose = false

    var location: String {
        get throws {
            if let repository { return repository }
            if let value = Environment.value("CAIRN_REPOSITORY") { return value }
            throw CLIError(.usage, "no repository given", hint: "pass --repo PATH or set CAIRN_REPOSITORY")
        }
    }

    var logger: Logger { LoggingSetup.logger(verbose: verbose) }

    func store() throws -> any ObjectStore {
        try openStore().store
    }

    /// Opens the repository with its catalog brought up to date, for a command that takes no lock.
    func open() throws -> Repository {
        try open(synchronize: true)
    }

    /// Opens the repository for a command that takes its lock next (`lock`, `readLock`), which
    /// brings the catalog up to date once the lock is held. Synchronizing here as well would list
    /// the store twice (round trips for nothing on a remote repository) and read and warn about
    /// every damaged object twice.
    func openToLock() throws -> Repository {
        try open(synchronize: false)
    }

    /// `openToLock` for a command that restores: every chunk's location is read into memory
    /// while the key is derived (`LocationPreload`).
    func openToRestore() throws -> Repository {
        try open(synchronize: false, preloadLocations: true)
    }

    private func open(synchronize: Bool, preloadLocations: Bool = false) throws -> Repository {
        let (store, remoteCacheName) = try openStore()
        let cache = cacheDirectory ?? Environment.value("CAIRN_CACHE_DIR").map { $0 + "/" + "catalog" }
            ?? remoteCacheName.map { Self.userCacheDirectory + "/cairn/" + $0 } ?? localCacheDirectory(store.location)
        do {
            return try Repository.open(store: store, password: { try PasswordSource.read() }, cacheDirectory: cache,
                                       synchronize: synchronize, preloadLocations: preloadLocations, logger: logger)
        } catch let failure as any CairnFailure where failure.category == .wrongPassword {
            // A key made from a CRLF password file by an earlier cairn holds the line end too.
            guard let legacy = PasswordSource.legacyReading() else { throw failure }
            return try Repository.open(store: store, password: { legacy }, cacheDirectory: cache,
                                       synchronize: synchronize, preloadLocations: preloadLocations, logger: logger)
        }
    }

    /// REPO/cache; where that cannot be written (read-only media or credentials), a folder in the
    /// user's cache named like a remote repository's, so the repository can still be restored and
    /// checked (the catalog is rebuilt there from its index and snapshot objects).
    private func localCacheDirectory(_ root: String) -> String {
        let inside = root + "/cache"
        let probe = FileManager.default.fileExists(atPath: inside) ? inside : root
        guard access(probe, W_OK) != 0 else { return inside }
        let code = errno
        guard [EROFS, EACCES, EPERM].contains(code) else { return inside }
        let outside = Self.userCacheDirectory + "/cairn/" + Self.cacheName("local", root)
        logger.warning("cannot write the catalog in \(probe) (\(String(cString: strerror(code)))); using \(outside) instead")
        return outside
    }

    /// The store for `location`; remote ones come with the name of their cache folder: the scheme
    /// and the first 16 hex digits of the SHA-256 of the location and its endpoint.
    private func openStore() throws -> (store: any ObjectStore, remoteCacheName: String?) {
        let location = try self.location
        try refuseLimits(unlessRemote: [location])
        return try openStore(at: location)
    }

    /// The stores `cairn mirror` copies between: this repository, and `destination`. The limits
    /// apply to whichever is remote (`--limit-download` to reads, `--limit-upload` to writes).
    func mirrorStores(to destination: String) throws -> (source: any ObjectStore, destination: any ObjectStore) {
        let source = try self.location
        try refuseLimits(unlessRemote: [source, destination])
        return (try openStore(at: source).store, try openStore(at: destination).store)
    }

    /// The rate limits act on object stores only: refused when none of `locations` is one.
    private func refuseLimits(unlessRemote locations: [String]) throws {
        guard limitUpload != nil || limitDownload != nil else { return }
        let local = try locations.filter { if case .local = try RepositoryLocation(parsing: $0) { true } else { false } }
        guard local.count == locations.count else { return }
        throw CLIError(.usage, "--limit-upload and --limit-download apply to swift:// and s3:// repositories, not to "
                       + local.joined(separator: " or "),
                       hint: "a local repository is written to disk; leave the limits out")
    }

    private func openStore(at location: String) throws -> (store: any ObjectStore, remoteCacheName: String?) {
        switch try RepositoryLocation(parsing: location) {
        case .local(let path):
            let absolute = path.hasPrefix("/") ? path : Environment.workingDirectory + "/" + path
            return (LocalStore(root: URL(fileURLWithPath: absolute).standardizedFileURL.path), nil)
        case .swift(let container, let prefix):
            let authentication = try Self.swiftAuthentication()
            let store = try SwiftStore(container: container, prefix: prefix, authentication: authentication,
                                       network: Environment.network)
            return (try decorated(store), Self.cacheName("swift", store.location + " " + authentication.endpoint))
        case .s3(let host, let port, let bucket, let prefix):
            let secure = try Self.s3UsesHTTPS(host: host)
            let authority = port.map { "\(host):\($0)" } ?? host
            guard let endpoint = URL(string: (secure ? "https://" : "http://") + authority) else {
                throw CLIError(.usage, "\(location): \(authority) is not a host name")
            }
            let store = try S3Store(endpoint: endpoint, bucket: bucket, prefix: prefix, credentials: try Self.s3Credentials(),
                                    network: Environment.network)
            return (try decorated(store), Self.cacheName("s3", endpoint.absoluteString + "/" + bucket + "/" + store.prefix))
        }
    }

    /// What the CLI puts around a remote store: retries of passing faults (5xx, 429, timeouts,
    /// resets, bytes damaged in transit) with backoff, at most 4 requests at once (the limit
    /// sits inside the retries, so a request waiting to try again holds no slot), and, outermost,
    /// the read-ahead that fetches a restore's next batches while it decodes the current one.
    private func decorated(_ store: any ObjectStore) throws -> any ObjectStore {
        let logger = self.logger
        var store = store
        let upload = try limitUpload.map { try Self.rate($0, option: "--limit-upload") }
        let download = try limitDownload.map { try Self.rate($0, option: "--limit-download") }
        if upload != nil || download != nil {
            // Innermost, so a retried request pays for its bytes again.
            store = RateLimitedStore(store, upload: upload.map { TransferPacer(bytesPerSecond: $0) },
                                     download: download.map { TransferPacer(bytesPerSecond: $0) })
        }
        let retrying = RetryingStore(ConcurrencyLimitedStore(store, limit: 4), policy: try Self.retryPolicy(), onRetry: { error, attempt, delay in
            logger.warning("\(error.message) (\(error.underlying.map { "\($0)" } ?? "")); attempt \(attempt + 1) in \(String(format: "%.1f", delay)) s")
        })
        let readAhead = try RestoreTuning.readAheadBytes()
        return readAhead > 0 ? ReadAheadStore(retrying, budget: readAhead) : retrying
    }

    /// Bytes per second from `20MiB`, `500KiB`, `1GiB`, `20M`, `500k` (binary), `20MB`, `500kB`
    /// (decimal), `/s` allowed, or a bare number of KiB, as restic takes it.
    static func rate(_ text: String, option: String) throws -> Int {
        var rest = text.lowercased()
        if rest.hasSuffix("/s") { rest.removeLast(2) }
        let digits = rest.prefix { $0.isNumber || $0 == "." }
        let unit = rest.dropFirst(digits.count)
        let scale: Double? = switch unit {
        case "", "k", "kib": 1024
        case "m", "mib": 1024 * 1024
        case "g", "gib": 1024 * 1024 * 1024
        case "kb": 1000
        case "mb": 1000 * 1000
        case "gb": 1000 * 1000 * 1000
        default: nil
        }
        guard let scale, let number = Double(digits), number.isFinite, number * scale >= 1000, number * scale < 1e15 else {
            throw CLIError(.usage, "\(option) \(text) is not a rate",
                           hint: "give bytes per second with a unit, e.g. 20MiB, 500KiB, 1GiB or 20MB (at least 1kB)")
        }
        return Int(number * scale)
    }

    /// The standard policy, changed by CAIRN_RETRY_ATTEMPTS (attempts in all, 1–100) and
    /// CAIRN_RETRY_INITIAL_DELAY (seconds before the second attempt, 0–600; later waits double).
    private static func retryPolicy() throws -> RetryPolicy {
        let standard = RetryPolicy.standard
        var attempts = standard.maximumAttempts
        var initialDelay = standard.initialDelay
        if let text = Environment.value("CAIRN_RETRY_ATTEMPTS") {
            guard let value = Int(text), (1...100).contains(value) else {
                throw CLIError(.usage, "CAIRN_RETRY_ATTEMPTS=\(text) is not a whole number from 1 to 100")
            }
            attempts = value
        }
        if let text = Environment.value("CAIRN_RETRY_INITIAL_DELAY") {
            guard let value = Double(text), value.isFinite, (0...600).contains(value) else {
                throw CLIError(.usage, "CAIRN_RETRY_INITIAL_DELAY=\(text) is not a number of seconds from 0 to 600")
            }
            initialDelay = value
        }
        return RetryPolicy(maximumAttempts: attempts, initialDelay: initialDelay, maximumDelay: max(standard.maximumDelay, initialDelay))
    }

    private static func cacheName(_ scheme: String, _ identity: String) -> String {
        scheme + "-" + String(SHA256Digest.hash(Array(identity.utf8)).hex.prefix(16))
    }

    /// $XDG_CACHE_HOME, or ~/.cache.
    private static var userCacheDirectory: String {
        if let xdg = Environment.value("XDG_CACHE_HOME"), xdg.hasPrefix("/") { return xdg }
        return (Environment.value("HOME") ?? FileManager.default.homeDirectoryForCurrentUser.path) + "/.cache"
    }

    /// TempAuth from ST_AUTH/ST_USER/ST_KEY, else Keystone v3 from the OS_* variables.
    private static func swiftAuthentication() throws -> SwiftAuthentication {
        if let auth = Environment.value("ST_AUTH") {
            guard let url = URL(string: auth), let user = Environment.value("ST_USER"), let key = Environment.value("ST_KEY") else {
                throw CLIError(.usage, "ST_AUTH is set but ST_USER or ST_KEY is missing (or ST_AUTH is not a URL)",
                               hint: "set ST_AUTH, ST_USER and ST_KEY for TempAuth")
            }
            return .tempAuth(url: url, user: user, key: key)
        }
        if let auth = Environment.value("OS_AUTH_URL") {
            guard let url = URL(string: auth), let user = Environment.value("OS_USERNAME"),
                  let password = Environment.value("OS_PASSWORD"),
                  let project = Environment.value("OS_PROJECT_NAME") ?? Environment.value("OS_TENANT_NAME") else {
                throw CLIError(.usage, "OS_AUTH_URL is set but OS_USERNAME, OS_PASSWORD or OS_PROJECT_NAME is missing",
                               hint: "source your project's openrc file (Keystone v3)")
            }
            return .keystone(KeystoneCredentials(
                authURL: url, username: user, password: password, projectName: project,
                userDomainName: Environment.value("OS_USER_DOMAIN_NAME") ?? "Default",
                projectDomainName: Environment.value("OS_PROJECT_DOMAIN_NAME") ?? "Default",
                userDomainID: Environment.value("OS_USER_DOMAIN_NAME") == nil ? Environment.value("OS_USER_DOMAIN_ID") : nil,
                projectDomainID: Environment.value("OS_PROJECT_DOMAIN_NAME") == nil ? Environment.value("OS_PROJECT_DOMAIN_ID") : nil,
                regionName: Environment.value("OS_REGION_NAME"), interface: Environment.value("OS_INTERFACE") ?? "public"))
        }
        throw CLIError(.usage, "a swift:// repository needs credentials",
                       hint: "set ST_AUTH, ST_USER and ST_KEY (TempAuth), or OS_AUTH_URL, OS_USERNAME, OS_PASSWORD, OS_PROJECT_NAME (Keystone v3)")
    }

    private static func s3Credentials() throws -> S3Credentials {
        guard let access = Environment.value("AWS_ACCESS_KEY_ID"), let secret = Environment.value("AWS_SECRET_ACCESS_KEY") else {
            throw CLIError(.usage, "an s3:// repository needs credentials", hint: "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
        }
        let region = Environment.value("AWS_DEFAULT_REGION") ?? Environment.value("AWS_REGION") ?? "us-east-1"
        return S3Credentials(accessKeyID: access, secretAccessKey: secret, region: region)
    }

    /// CAIRN_S3_HTTPS=1 or 0 decides; otherwise https, except plain http on loopback.
    private static func s3UsesHTTPS(host: String) throws -> Bool {
        switch Environment.value("CAIRN_S3_HTTPS")?.lowercased() {
        case nil: return !RepositoryLocation.isLoopback(host)
        case "1", "true", "yes": return true
        case "0", "false", "no": return false
        case let other?: throw CLIError(.usage, "CAIRN_S3_HTTPS=\(other) is neither 1 nor 0")
        }
    }

    /// Takes the repository lock for a command: shared for backups, exclusive for prune and repair
    /// (and forget, which rewrites snapshots); then brings the catalog up to date. It is brought
    /// up to date only once the lock is held: a prune that ran before (another host's, or one
    /// this command waited for with --lock-wait) may have deleted packs, and a backup that
    /// deduplicated against a catalog still listing them would commit a snapshot that needs them.
    func lock(_ repository: Repository, exclusive: Bool, command: String) throws -> RepositoryLock {
        let lock = try lock(repository.store, exclusive: exclusive, command: command)
        try synchronize(repository, releasingOnFailure: lock)
        return lock
    }

    /// Takes a shared lock for a command that reads packs for a while (restore, check, drill), so
    /// no prune deletes packs under it and no repair rewrites the index it reads. A repository
    /// this process cannot write a lock into (read-only media or credentials) is read without one,
    /// with a warning; a conflicting exclusive lock (a prune or repair at work) stops the command
    /// like any other conflict.
    func readLock(_ repository: Repository, command: String) throws -> RepositoryLock? {
        let held = try lockIfWritable { try lock(repository.store, exclusive: false, command: command) }
        try synchronize(repository, releasingOnFailure: held)
        return held
    }

    /// Brings the catalog up to date once the lock is taken (or known to be impossible); a
    /// failure releases the lock, which the caller has not yet set to release.
    private func synchronize(_ repository: Repository, releasingOnFailure lock: RepositoryLock?) throws {
        do {
            try repository.synchronizeCatalog()
        } catch {
            lock?.release()
            throw error
        }
    }

    /// A lock on `store` itself, waiting up to --lock-wait (for commands without a catalog, such as mirror).
    func lock(_ store: any ObjectStore, exclusive: Bool, command: String) throws -> RepositoryLock {
        let lock = try RepositoryLock.acquire(store: store, exclusive: exclusive, command: command, identity: identity,
                                              wait: try DurationText.seconds(lockWait ?? "0"), logger: logger)
        FaultSetup.pause(at: "after-lock")
        return lock
    }

    /// `take`'s lock, or nil with a warning when the store cannot hold one; a conflict still stops.
    func lockIfWritable(_ take: () throws -> RepositoryLock) throws -> RepositoryLock? {
        do {
            return try take()
        } catch let failure as any CairnFailure where failure.category == .locked {
            throw failure
        } catch {
            logger.warning("cannot lock the repository (\(error)); reading it without a lock, so do not prune it meanwhile")
            return nil
        }
    }

    var identity: Identity {
        Identity(hostname: Environment.hostname, username: Environment.username, now: Date(),
                 bootID: Environment.bootID, pidNamespace: Environment.pidNamespace)
    }
}

/// `cairn init` prepares remote locations too (a Swift container, an S3 bucket).
