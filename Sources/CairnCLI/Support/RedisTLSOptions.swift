import ArgumentParser
import CairnRedis

/// `--redis-tls-*`: how to verify a rediss:// server and the client certificate to show it, named
/// as redis-cli names them (--cacert, --cert, --key, --sni) behind a `--redis-tls-` prefix.
struct RedisTLSOptions: ParsableArguments {
    @Option(name: .customLong("redis-tls-ca"),
            help: ArgumentHelp("With rediss://: PEM file of the CA certificates that verify the server (default: the system's trust store).", valueName: "file"))
    var caFile: String?

    @Option(name: .customLong("redis-tls-cert"),
            help: ArgumentHelp("With rediss://: PEM client certificate, for a server with tls-auth-clients yes (with --redis-tls-key).", valueName: "file"))
    var certificateFile: String?

    @Option(name: .customLong("redis-tls-key"),
            help: ArgumentHelp("With rediss://: PEM private key of --redis-tls-cert, without a passphrase.", valueName: "file"))
    var keyFile: String?

    @Option(name: .customLong("redis-tls-server-name"),
            help: ArgumentHelp("With rediss://: the name the server's certificate must hold (and SNI), when the URL gives another host or an IP address.", valueName: "name"))
    var serverName: String?

    var isEmpty: Bool { [caFile, certificateFile, keyFile, serverName].allSatisfy { $0 == nil } }

    func validate() throws {
        if (certificateFile == nil) != (keyFile == nil) {
            throw ValidationError("--redis-tls-cert and --redis-tls-key go together")
        }
    }

    /// The settings of a rediss:// address; an error for any other address that names them.
    func apply(to address: inout RedisAddress) throws {
        guard address.tls != nil else {
            guard isEmpty else {
                throw CLIError(.usage, "--redis-tls-* options need a rediss:// address, not \(address)",
                               hint: "use rediss://host:port for the server's tls-port")
            }
            return
        }
        address.tls = RedisTLS(caFile: caFile, certificateFile: certificateFile, keyFile: keyFile, serverName: serverName)
    }

    /// The same options, for a command line that cairn runs later (a cron entry).
    var arguments: [String] {
        [("--redis-tls-ca", caFile), ("--redis-tls-cert", certificateFile), ("--redis-tls-key", keyFile),
         ("--redis-tls-server-name", serverName)].flatMap { name, value in value.map { [name, $0] } ?? [] }
    }
}
