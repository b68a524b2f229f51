import CairnRedis
import Foundation

/// Compares a loaded server's keys per database with what a snapshot recorded. Keys whose TTL
/// passed since the backup may be gone, so a database may hold up to `expires` fewer keys.
public struct KeyCountCheck: Sendable {
    public var expected: [Int: Int]
    public var actual: [Int: Int]
    public var expires: Int

    public var matches: Bool {
        Set(expected.keys).union(actual.keys).allSatisfy { db in
            let want = expected[db] ?? 0, have = actual[db] ?? 0
            return have <= want && have >= want - expires
        }
    }

    public var description: String {
        Set(expected.keys).union(actual.keys).sorted().map { "db\($0): \(actual[$0] ?? 0) of \(expected[$0] ?? 0)" }
            .joined(separator: ", ")
    }

    /// `db0=12,db3=4` as recorded in snapshots.
    public static func parse(_ text: String) -> [Int: Int] {
        var counts: [Int: Int] = [:]
        for part in text.split(separator: ",") {
            let pair = part.split(separator: "=")
            if pair.count == 2, let db = Int(pair[0].dropFirst(2)), let keys = Int(pair[1]) { counts[db] = keys }
        }
        return counts
    }

    /// Keys per database from `INFO keyspace`.
    public static func live(_ client: RESPClient) throws -> [Int: Int] {
        var counts: [Int: Int] = [:]
        for (name, value) in try client.info("keyspace") where name.hasPrefix("db") {
            guard let db = Int(name.dropFirst(2)) else { continue }
            for field in value.split(separator: ",") where field.hasPrefix("keys=") {
                counts[db] = Int(field.dropFirst(5))
            }
        }
        return counts
    }
}
