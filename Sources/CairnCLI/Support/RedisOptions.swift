import ArgumentParser
import CairnRedis
import Foundation

/// `--redis URL` and its credentials: the URL, REDISCLI_AUTH, or a password file — never only
/// the command line; for rediss://, the TLS options.
struct RedisOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Redis server: redis://[user:password@]host:port[/db], rediss://… (TLS; see --redis-tls-*) or unix:///path.", valueName: "url"))
    var redis: String?

    @Option(help: ArgumentHelp("File whose first line is the Redis password (instead of REDISCLI_AUTH).", valueName: "file"))
    var redisPasswordFile: String?

    @OptionGroup var tls: RedisTLSOptions

    func address() throws -> RedisAddress? {
        guard let redis else { return nil }
        var fallback = Environment.value("REDISCLI_AUTH")
        if let file = redisPasswordFile {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw CLIError(.usage, "cannot read --redis-password-file \(file)")
            }
            fallback = String(text.split(separator: "\n", omittingEmptySubsequences: false).first ?? "")
        }
        var address = try RedisAddress(parsing: redis, fallbackPassword: fallback)
        try tls.apply(to: &address)
        return address
    }
}
