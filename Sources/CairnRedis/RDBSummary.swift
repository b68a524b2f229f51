/// What an RDB file holds, as `cairn inspect-rdb` shows it and snapshots record it.
public struct RDBSummary: Sendable, Codable, Equatable {
    public enum Checksum: Sendable, Codable, Equatable {
        case valid(UInt64)
        /// Written with `rdbchecksum no`: the trailer is zero and nothing could be checked.
        case disabled
        /// RDB versions before 5 have no trailer.
        case absent
    }

    public struct Database: Sendable, Codable, Equatable {
        public var index: Int
        public var keys = 0
        public var expires = 0
        /// Keys by type name ("string", "hash", "list", …).
        public var types: [String: Int] = [:]
    }

    public var version = 0
    public var aux: [String: String] = [:]
    public var databases: [Database] = []
    public var functions = 0
    public var moduleAux = 0
    public var checksum: Checksum = .absent
    public var bytes: Int64 = 0

    public var keys: Int { databases.reduce(0) { $0 + $1.keys } }
    public var expires: Int { databases.reduce(0) { $0 + $1.expires } }

    /// `db0=12,db3=4`: the form snapshots record.
    public var keysPerDatabase: String {
        databases.map { "db\($0.index)=\($0.keys)" }.joined(separator: ",")
    }
}
