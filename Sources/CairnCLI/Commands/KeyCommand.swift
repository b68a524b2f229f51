import ArgumentParser
import CairnCore
import CairnRepository

struct KeyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "key",
        abstract: "Manage the passwords that open the repository.",
        discussion: """
        Every key file wraps the same master key with a different password. New passwords come from a \
        terminal prompt or CAIRN_NEW_PASSWORD_FILE.

        add, remove and passwd take the exclusive lock, as prune does (a running backup or prune makes \
        them fail with exit code 11 or wait: see --lock-wait), so no two of them change keys/ at once. \
        remove checks the key files as they are once it holds the lock: it never removes the key in use, \
        and removes nothing if another process removed the key in use meanwhile, so a key that opens \
        the repository always remains.

        EXAMPLES:
          CAIRN_NEW_PASSWORD_FILE=/root/new-pass cairn key add
          cairn key list
          cairn key remove 1a2b3c4d
          cairn key passwd
        """,
        subcommands: [KeyAddCommand.self, KeyListCommand.self, KeyRemoveCommand.self, KeyPasswdCommand.self])
}

struct KeyAddCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "add", abstract: "Add a password.")
    @OptionGroup var options: RepositoryOptions

    func run() throws {
        let repository = try options.openToLock()
        let password = try PasswordSource.readAdditional()
        let lock = try options.lock(repository, exclusive: true, command: "key add")
        defer { lock.release() }
        let id = try repository.addKey(password: password, scrypt: NewKeyCost.scrypt(), identity: options.identity)
        if !options.quiet { Console.out("added key \(id.short)") }
    }
}

struct KeyListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List key files.")
    @OptionGroup var options: RepositoryOptions
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        let repository = try options.open()
        let keys = try repository.keys()
        if json {
            Console.json(keys.map { ["id": $0.id.hex, "current": $0.isCurrent, "created": RFC3339.format($0.file.created),
                                     "hostname": $0.file.hostname, "username": $0.file.username] as [String: Any] })
            return
        }
        Console.table([" ", "ID", "Created", "Host", "User"], keys.map {
            [$0.isCurrent ? "*" : " ", $0.id.short, Rendering.localTime($0.file.created), $0.file.hostname, $0.file.username]
        })
    }
}

struct KeyRemoveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove a password (not the one in use).")
    @OptionGroup var options: RepositoryOptions
    @Argument(help: "Key id or prefix.") var key: String

    func run() throws {
        let repository = try options.openToLock()
        let lock = try options.lock(repository, exclusive: true, command: "key remove")
        defer { lock.release() }
        let id = try repository.findKey(key)
        try repository.removeKey(id)
        if !options.quiet { Console.out("removed key \(id.short)") }
    }
}

struct KeyPasswdCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "passwd", abstract: "Change the password in use (adds the new key, then removes the old one).")
    @OptionGroup var options: RepositoryOptions

    func run() throws {
        let repository = try options.openToLock()
        guard let old = repository.currentKey else { throw CLIError(.usage, "this repository is not encrypted") }
        let password = try PasswordSource.readAdditional()
        let lock = try options.lock(repository, exclusive: true, command: "key passwd")
        defer { lock.release() }
        let id = try repository.addKey(password: password, scrypt: NewKeyCost.scrypt(), identity: options.identity)
        try repository.store.delete(.init(.keys, old.hex))
        if !options.quiet { Console.out("changed password: key \(old.short) replaced by \(id.short)") }
    }
}
