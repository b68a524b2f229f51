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
          CAIRN_PASSWORD_FILE=/root/.cairn-password cairn init --repo /srv/backups/redis
          cairn init --repo /tmp/scratch --insecure-no-encryption
        """)

    @OptionGroup var options: RepositoryOptions

    @Flag(name: .customLong("insecure-no-encryption"), help: "Store data unencrypted (anyone with the files can read them).")
    var noEncryption = false

    @Option(help: "zstd compression level (1-19).")
    var compressionLevel = 3

    @Option(help: ArgumentHelp("Target pack size in MiB (1-128).", valueName: "MiB"))
    var packSize = 16

    func validate() throws {
        guard (1...19).contains(compressionLevel) else { throw ValidationError("--compression-level must be 1...19") }
        guard (1...128).contains(packSize) else { throw ValidationError("--pack-size must be 1...128 MiB") }
    }

    func run() throws {
        let store = try options.store()
        guard let creating = store as? ObjectStoreCreating else {
            throw CLIError(.failure, "\(store.location) cannot be prepared for a new repository by this build")
        }
        if try store.stat(.config) != nil {
            throw CLIError(.usage, "\(store.location) already holds a repository", hint: "use it, or choose another path")
        }
        let password = noEncryption ? nil : try PasswordSource.readNew()
        try creating.create()
        let config = RepositoryConfig.new(encrypted: !noEncryption, compressionLevel: compressionLevel,
                                          packSize: packSize << 20, now: Date())
        try Repository.initialize(store: store, config: config, password: password, identity: options.identity)
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
