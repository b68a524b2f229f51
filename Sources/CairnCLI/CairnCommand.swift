import ArgumentParser
import CairnBackends
import CairnCodec
import CairnCore
import CairnEngine
import Foundation

/// The root command: `cairn SUBCOMMAND`.
public struct CairnCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "cairn",
        abstract: "Incremental, deduplicating, encrypted backups of Redis data directories.",
        discussion: """
        Cairn stores a Redis data directory (dump.rdb, AOF files, Redis 7's appendonlydir/) in a repository of \
        content-addressed, deduplicated, zstd-compressed, encrypted chunks, and restores any snapshot.

        QUICK START:
          export CAIRN_REPOSITORY=/srv/backups/redis
          export CAIRN_PASSWORD_FILE=/root/.cairn-password
          cairn init
          cairn backup /var/lib/redis
          cairn snapshots
          cairn restore latest --target /tmp/restore

        ENVIRONMENT:
          CAIRN_REPOSITORY        repository location (instead of --repo)
          CAIRN_PASSWORD          the password (other users can read it in /proc;
                                  prefer the next two)
          CAIRN_PASSWORD_FILE     file whose first line is the password
          CAIRN_PASSWORD_COMMAND  command that prints the password
          CAIRN_PASSWORD_COMMAND_TIMEOUT
                                  seconds it may run before it and what it
                                  started are killed (default 60; not
                                  timed when run from a terminal)
          CAIRN_NEW_PASSWORD_FILE new password for `key add` / `key passwd`
                                  without a terminal
          CAIRN_CACHE_DIR         where catalogs are cached
          XDG_CACHE_HOME          catalogs of remote repositories go to
                                  $XDG_CACHE_HOME/cairn/ (default ~/.cache)
          ST_AUTH, ST_USER, ST_KEY
                                  OpenStack Swift TempAuth, for
                                  --repo swift://CONTAINER/PREFIX
          OS_AUTH_URL, OS_USERNAME, OS_PASSWORD, OS_PROJECT_NAME,
          OS_USER_DOMAIN_NAME (or _ID), OS_PROJECT_DOMAIN_NAME (or _ID),
          OS_REGION_NAME, OS_INTERFACE
                                  Keystone v3, for swift:// repositories
          AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION
                                  for --repo s3://HOST[:PORT]/BUCKET/PREFIX
          CAIRN_S3_HTTPS          1 or 0: force https or http for s3://
                                  (default: http on loopback only)
          SSL_CERT_FILE           CA certificates (PEM) trusted for Swift and
                                  S3 instead of the system's
          https_proxy, http_proxy, all_proxy, no_proxy
                                  proxies for Swift and S3, as curl reads them
                                  (reached with CONNECT)
          CAIRN_READ_AHEAD_BYTES  the most a restore or check from Swift or S3
                                  holds read ahead (default \(ReadAheadStore.defaultBudget)); 0: none
          CAIRN_RESTORE_DIRECT_IO 0: restore and redis-restore write through
                                  the page cache, not with O_DIRECT
          CAIRN_RESTORE_SIDE_BY_SIDE_BYTES
                                  files this large (default 67108864) are
                                  restored two at a time (local repositories);
                                  0: never
          CAIRN_RETRY_ATTEMPTS    attempts per object-store request, in all
                                  (default 6)
          CAIRN_RETRY_INITIAL_DELAY
                                  seconds before the second attempt (default
                                  0.5; each later wait doubles, up to 30)

        \(ExitCodes.helpText)
        """,
        version: CairnVersion.string,
        subcommands: [
            InitCommand.self, BackupCommand.self, SnapshotsCommand.self, RestoreCommand.self, LsCommand.self,
            DiffCommand.self, StatsCommand.self, CheckCommand.self, RepairCommand.self, KeyCommand.self, UnlockCommand.self, ForgetCommand.self, PruneCommand.self, MirrorCommand.self, ScheduleCommand.self, InspectRDBCommand.self, RedisRestoreCommand.self, DrillCommand.self,
        ]
    )

    public init() {}

    /// Parses the command line, runs the command, and exits with the documented code.
    public static func runMain() -> Never {
        MemoryTuning.keepLargeAllocations()
        do {
            var command = try parseAsRoot()
            try command.run()
            Foundation.exit(0)
        } catch let failure as CairnFailure {
            Console.error("cairn: error: \(failure)")
            Interruption.endIfRequested()
            Foundation.exit(ExitCodes.code(for: failure.category))
        } catch let exit as ExitCode {
            Foundation.exit(exit.rawValue)
        } catch {
            let code = exitCode(for: error)
            if code.rawValue == 0 || code.rawValue == ExitCode.validationFailure.rawValue || isHelpLike(error) {
                CairnCommand.exit(withError: error)
            }
            Console.error("cairn: error: \(error)")
            Foundation.exit(1)
        }
    }

    private static func isHelpLike(_ error: Error) -> Bool {
        let text = String(describing: type(of: error))
        return text.contains("CommandError") || text.contains("ValidationError") || text.contains("CleanExit")
    }
}
