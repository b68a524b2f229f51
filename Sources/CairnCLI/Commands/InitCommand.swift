import ArgumentParser
import CairnCodec
import CairnCore
import CairnRepository
import Foundation

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create a new repository.",
        discussion: """
        The repository is encrypted with a random master key, wrapped by your password (scrypt). \
        Keep the password safe: without it the backups cannot be read. Add more passwords with `cairn key add`.

        EXAMPLES:
          CAIRN_PASSWORD_FILE=/root/.cairn-password \\
              cairn init --repo /srv/backups/redis
          cairn init --repo /tmp/scratch --insecure-no-encryption
          # still readable by cairn before 0.2:
          cairn init --repo /srv/backups/shared --format-version 1

        FORMAT VERSIONS:
          2 (default)  runs of adjacent new chunks are compressed as one zstd
                       frame (faster first backups of Redis dumps, whose
                       record chunks average 2 KiB)
          1            one chunk per compressed blob: what cairn read and
                       wrote before format 2
        """)

    @OptionGroup var options: RepositoryOptions

    @Flag(name: .customLong("insecure-no-encryption"), help: "Store data unencrypted (anyone with the files can read them).")
    var noEncryption = false

    @Option(help: "zstd compression level (1-19).")
    var compressionLevel = 3

    @Option(help: ArgumentHelp("Target pack size in MiB (1-128).", valueName: "MiB"))
    var packSize = 16

    @Option(help: ArgumentHelp("Repository format (1 or 2; see FORMAT VERSIONS below).", valueName: "N"))
    var formatVersion = RepositoryConfig.currentVersion

    func validate() throws {
        guard (1...19).contains(compressionLevel) else { throw ValidationError("--compression-level must be 1...19") }
        guard (1...128).contains(packSize) else { throw ValidationError("--pack-size must be 1...128 MiB") }
        guard (1...RepositoryConfig.currentVersion).contains(formatVersion) else {
            throw ValidationError("--format-version must be 1...\(RepositoryConfig.currentVersion)")
        }
    }

    func run() throws {
        let store = try options.store()
        guard let creating = store as? ObjectStoreCreating else {
            throw CLIError(.failure, "\(store.location) cannot be prepared for a new repository by this build")
        }
        if try store.stat(.config) != nil {
            throw CLIError(.usage, "\(store.location) already holds a repository", hint: "use it, or choose another path")
        }
        let scrypt = try NewKeyCost.scrypt()
        let password = noEncryption ? nil : try PasswordSource.readNew()
        try creating.create()
        let config = RepositoryConfig.new(encrypted: !noEncryption, compressionLevel: compressionLevel,
                                          packSize: packSize << 20, version: formatVersion, now: Date())
        try Repository.initialize(store: store, config: config, password: password, scrypt: scrypt, identity: options.identity)
        if !options.quiet {
            Console.out("created repository \(config.id.prefix(8)) at \(store.location)\(noEncryption ? " (NOT encrypted)" : "")")
            if !noEncryption {
                Console.out("keep the password safe: without it the data cannot be restored")
            }
        }
    }
}

import CairnBackends

/// Stores that can lay out a new, empty repository.
