// A version per table and database that every write moves: keys carry the versions of the tables a read reads, so
// an answer kept before a write is never found after it.
public struct TableVersions: Sendable {
    /// Versions by database, then bare table name (schema left out: a write to s1.t also moves s2.t, which costs a
    /// miss, never a stale read). A table never written is at 0.
    private var tables: [String: [String: UInt64]] = [:]
    /// Moved by a write whose tables are unknown (a statement that did not parse, a function that may write anywhere):
    /// every key of the database changes.
    private var epochs: [String: UInt64] = [:]
    /// Moves an operator made for a table in every database (CACHE INVALIDATE TABLE), added to each database's own:
    /// a database no write was seen in yet has no entry of its own to move.
    private var everywhere: [String: UInt64] = [:]
    /// Every move, whatever its table: what SHOW CACHE and the metrics count.
    public private(set) var bumps: UInt64 = 0

    public init() {}

    /// What keys and fills read: the database's epoch, then each table's version, in the order asked.
    public func stamp(database: String, tables names: [String]) -> VersionStamp {
        let db = tables[database]
        return VersionStamp(epoch: epochs[database] ?? 0, versions: names.map { (db?[$0] ?? 0) &+ (everywhere[$0] ?? 0) })
    }

    /// A write to these tables was sent, or was answered: both move them. The move at the answer (before the writer
    /// hears it) is what keeps reads fresh: a read whose answer arrives after it finds its stamp changed and is not
    /// kept. The move at the send keeps answers read during the write from being stored for nothing.
    public mutating func wrote(database: String, tables names: some Sequence<String>) {
        var db = tables[database] ?? [:]
        for n in names {
            db[n, default: 0] &+= 1
            bumps &+= 1
        }
        tables[database] = db
    }

    /// A table named by an operator (CACHE INVALIDATE TABLE): moved in every database that has versions.
    public mutating func wroteEverywhere(table: String) {
        everywhere[table, default: 0] &+= 1
        bumps &+= 1
    }

    /// A write whose tables are not known: every table of the database moves at once.
    public mutating func wroteAnything(database: String) {
        epochs[database, default: 0] &+= 1
        bumps &+= 1
    }
}

/// The versions a read was looked up under: a miss's answer is kept only if they are unchanged when it arrives.
public struct VersionStamp: Sendable, Hashable {
    public var epoch: UInt64
    public var versions: [UInt64]

    public init(epoch: UInt64, versions: [UInt64]) {
        self.epoch = epoch
        self.versions = versions
    }
}
