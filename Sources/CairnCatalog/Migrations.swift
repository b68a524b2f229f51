/// Named schema migrations, applied in order and recorded. Append only: a released migration is
/// never edited or renumbered.
enum Migrations {
    static let all: [(name: String, sql: String)] = [
        ("0001-initial", """
        CREATE TABLE packs (
            rowid INTEGER PRIMARY KEY,
            id BLOB UNIQUE NOT NULL,
            size INTEGER NOT NULL,
            index_id BLOB NOT NULL
        );
        CREATE INDEX packs_by_index ON packs(index_id);
        CREATE TABLE chunks (
            id BLOB PRIMARY KEY,
            pack INTEGER NOT NULL REFERENCES packs(rowid),
            offset INTEGER NOT NULL,
            stored_length INTEGER NOT NULL,
            raw_length INTEGER NOT NULL,
            kind INTEGER NOT NULL,
            compression INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX chunks_by_pack ON chunks(pack, offset);
        CREATE TABLE indexes (id BLOB PRIMARY KEY) WITHOUT ROWID;
        CREATE TABLE snapshots (
            id BLOB PRIMARY KEY,
            time REAL NOT NULL,
            hostname TEXT NOT NULL,
            document BLOB NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
        """),
        ("0002-marks", """
        CREATE TABLE marks (id BLOB PRIMARY KEY) WITHOUT ROWID;
        """),
        // Format version 2: a blob may hold a frame of several chunks.
        ("0003-frames", """
        ALTER TABLE chunks ADD COLUMN frame_offset INTEGER NOT NULL DEFAULT 0;
        """),
    ]
}
