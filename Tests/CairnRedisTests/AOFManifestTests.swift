import CairnRedis
import Foundation
import Testing

@Suite("AOF manifest") struct AOFManifestTests {
    typealias Entry = AOFManifest.Entry

    @Test func theFixtureManifest() throws {
        let text = try String(contentsOf: Fixture.appendOnlyDirectory.appendingPathComponent("appendonly.aof.manifest"), encoding: .utf8)
        let manifest = try AOFManifest(parsing: text)
        let base = Entry(name: "appendonly.aof.2.base.rdb", sequence: 2, type: .base)
        let increment = Entry(name: "appendonly.aof.2.incr.aof", sequence: 2, type: .increment)
        #expect(manifest.entries == [base, increment])
        #expect(manifest.base == base)
        #expect(manifest.increments == [increment])
        #expect(manifest.liveFiles == [base, increment])
        #expect(AOFManifest.render(manifest.entries) == text)
    }

    /// redis-server 7.0.15 with `appendfilename 'my data.aof'` and `aof-disable-auto-gc yes`
    /// after two rewrites: quoted names and four history entries between base and increment.
    @Test func quotedNamesAndHistoryFromRedis() throws {
        let manifest = try AOFManifest(parsing: try Fixture.data("manifest-quoted-history.txt"))
        #expect(manifest.entries.map(\.name) == ["my data.aof.3.base.rdb", "my data.aof.2.incr.aof", "my data.aof.2.base.rdb",
                                                 "my data.aof.1.incr.aof", "my data.aof.1.base.rdb", "my data.aof.3.incr.aof"])
        #expect(manifest.entries.map(\.sequence) == [3, 2, 2, 1, 1, 3])
        #expect(manifest.entries.map(\.type) == [.base, .history, .history, .history, .history, .increment])
        #expect(manifest.base == Entry(name: "my data.aof.3.base.rdb", sequence: 3, type: .base))
        #expect(manifest.increments == [Entry(name: "my data.aof.3.incr.aof", sequence: 3, type: .increment)])
        #expect(manifest.liveFiles.map(\.name) == ["my data.aof.3.base.rdb", "my data.aof.3.incr.aof"])
    }

    /// Regression (was a bug): Redis writes names that need quoting with sdscatrepr, so bytes outside printable
    /// ASCII become `\xHH` (and \n, \r, \t, \a, \b are escaped by letter); AOFManifest only
    /// understands `\"` and `\\`, so it reads `donnxc3xa9es"x.aof.1.base.rdb` and the backup
    /// cannot find the base file. Written by redis-server 7.0.15 with appendfilename 'données"x.aof'.
    @Test func hexEscapesInQuotedNames() throws {
        let manifest = try AOFManifest(parsing: try Fixture.data("manifest-escaped.txt"))
        #expect(manifest.base?.name == "données\"x.aof.1.base.rdb")
        #expect(manifest.increments.map(\.name) == ["données\"x.aof.1.incr.aof"])
        
        let tabbed = try AOFManifest(parsing: "file \"a\\tb.aof\" seq 1 type b\n")
        #expect(tabbed.base?.name == "a\tb.aof")
    }

    @Test func commentsBlankLinesExtraFieldsAndOrder() throws {
        let text = """
            # written by hand
            file appendonly.aof.5.incr.aof seq 5 type i startoffset 0 endoffset 4096

              type b seq 4 file appendonly.aof.4.base.aof
            file appendonly.aof.6.incr.aof seq 6 type i
            """
        let manifest = try AOFManifest(parsing: text)
        #expect(manifest.base == Entry(name: "appendonly.aof.4.base.aof", sequence: 4, type: .base))
        #expect(manifest.increments.map(\.sequence) == [5, 6])
        #expect(manifest.liveFiles.map(\.sequence) == [5, 4, 6], "entries keep the manifest's order")
    }

    @Test func aManifestWithoutBaseIsValid() throws {
        let manifest = try AOFManifest(parsing: "file appendonly.aof.1.incr.aof seq 1 type i\n")
        #expect(manifest.base == nil)
        #expect(manifest.liveFiles.count == 1)
    }

    @Test(arguments: [
        ("file a seq 1 type b\nfile b seq x type i\n", "the AOF manifest is malformed at line 2: needs file, seq and type"),
        ("file a seq 1 type z\n", "the AOF manifest is malformed at line 1: needs file, seq and type"),
        ("file a seq 1\n", "the AOF manifest is malformed at line 1: expected key/value pairs"),
        ("file a seq 1 type\n", "the AOF manifest is malformed at line 1: expected key/value pairs"),
        ("name a seq 1 type b\n", "the AOF manifest is malformed at line 1: needs file, seq and type"),
        ("file \"a seq 1 type b\n", "the AOF manifest is malformed at line 1: unterminated quote"),
        ("file ../a seq 1 type b\n", "the AOF manifest is malformed at line 1: file name must be a basename"),
        ("file dir/a seq 1 type b\n", "the AOF manifest is malformed at line 1: file name must be a basename"),
        ("file .. seq 1 type b\n", "the AOF manifest is malformed at line 1: file name must be a basename"),
        ("file a seq 1 type b\nfile b seq 2 type b\n", "the AOF manifest names more than one base file"),
        ("", "the AOF manifest lists no files"),
        ("# only a comment\n\n", "the AOF manifest lists no files"),
        ("file \(String(repeating: "a", count: 1100)) seq 1 type b\n", "the AOF manifest is malformed at line 1: line is longer than 1024 bytes"),
    ] as [(String, String)])
    func malformedManifestsAreRefusedWithTheLine(_ text: String, _ message: String) throws {
        let error = try #require(throws: RedisError.self) { try AOFManifest(parsing: text) }
        #expect(error.category == .integrity)
        #expect(error.message == message)
    }

    /// Redis strips trailing "\r\n" (sdstrim " \t\r\n") before splitting a manifest line.
    @Test func windowsLineEndings() throws {
        let manifest = try AOFManifest(parsing: "file appendonly.aof.1.base.rdb seq 1 type b\r\nfile appendonly.aof.1.incr.aof seq 1 type i\r\n")
        #expect(manifest.entries.count == 2)
    }

    @Test func renderRoundTripsPlainNames() throws {
        let entries = [Entry(name: "appendonly.aof.1.base.rdb", sequence: 1, type: .base),
                       Entry(name: "appendonly.aof.1.incr.aof", sequence: 1, type: .history),
                       Entry(name: "appendonly.aof.2.incr.aof", sequence: 2, type: .increment)]
        let text = AOFManifest.render(entries)
        #expect(text == "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type h\n"
                + "file appendonly.aof.2.incr.aof seq 2 type i\n")
        #expect(try AOFManifest(parsing: text).entries == entries)
    }

    /// Regression (was a bug): render writes names verbatim, so a name with a space (which Redis quotes) produces
    /// a manifest that neither AOFManifest nor Redis can read back.
    @Test func renderQuotesNamesThatNeedIt() throws {
        let entries = [Entry(name: "my data.aof.1.base.rdb", sequence: 1, type: .base)]
        let text = AOFManifest.render(entries)
        #expect(text == "file \"my data.aof.1.base.rdb\" seq 1 type b\n")
        let parsed = try AOFManifest(parsing: text)
        #expect(parsed.entries == entries)
    }
}
