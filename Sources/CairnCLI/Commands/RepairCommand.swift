import ArgumentParser
import CairnEngine
import CairnRepository

struct RepairCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "repair",
        abstract: "Repair repository metadata.",
        subcommands: [RepairIndexCommand.self])
}

struct RepairIndexCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index",
        abstract: "Rebuild the SQLite catalog from the repository's objects.",
        discussion: """
        The catalog is a cache: this empties it and reloads every index/ and snapshots/ object. Packs that \
        no index names (an interrupted backup, a damaged index) are read and described by a new index, \
        and damaged index objects are then deleted. A damaged snapshot object is removed with \
        `cairn forget ID`.

        EXAMPLES:
          cairn repair index --repo /srv/backups/redis
        """)

    @OptionGroup var options: RepositoryOptions

    func run() throws {
        let repository = try options.openToLock()
        let lock = try options.lock(repository, exclusive: true, command: "repair index")
        defer { lock.release() }
        let report = try repository.rebuildCatalog()
        if !options.quiet {
            Console.out("loaded \(report.indexes) index object(s) and \(report.snapshots) snapshot(s); "
                        + "indexed \(report.packsReindexed.count) pack(s) that no index named")
            for pack in report.damagedPacks { Console.out("damaged pack (not indexed): \(pack)") }
            for index in report.damagedIndexes { Console.out("damaged index (removed; its packs are indexed again): \(index)") }
        }
    }
}
