// What names one cached answer: everything that can change the rows a read returns, kept whole (compared byte for
// byte, never by hash alone), so that no client ever gets rows another key stored.
import SQLAnalysis

public struct CacheKey: Hashable, Sendable {
    /// The statement: its shape (text with literals taken out, the literals then among the parameters) or the shared
    /// id of a prepared statement.
    public enum Statement: Sendable, Equatable {
        case shape([UInt8])
        case prepared(Int)
    }

    /// Every field, each with its length first: ("ab", "c") and ("a", "bc") make different keys.
    public let material: [UInt8]
    private let hash: Int

    /// Settings that change what a read returns or how its values are written out. The rest (application_name,
    /// statement_timeout...) are left out, so they do not split the cache. Custom settings (a dot in the name) are
    /// all kept: row-level security policies read them.
    public static let resultSettings: Set<String> = [
        "timezone", "datestyle", "intervalstyle", "extra_float_digits", "bytea_output", "client_encoding", "search_path",
        "role", "session_authorization", "lc_monetary", "lc_numeric", "lc_time", "standard_conforming_strings",
        "row_security", "xmlbinary", "xmloption", "timezone_abbreviations", "default_text_search_config",
    ]

    /// - `settings`: the client's, by name (any case); only `resultSettings` and custom ones count.
    /// - `parameters`: each value's bytes, nil for NULL; `parameterFormats` and `resultFormats` as the Bind gave them.
    /// - `dataEpoch`: the database's (TableVersions), moved by a write whose tables are not known.
    /// - `tableVersions`: the version of every table the statement reads: a write moves it, and the old key is not
    ///   read again.
    public init(database: String, user: String, settings: [String: String], statement: Statement, parameters: [[UInt8]?] = [],
                parameterFormats: [Int16] = [], resultFormats: [Int16] = [], schemaEpoch: Int, dataEpoch: UInt64 = 0,
                tableVersions: [(table: QualifiedName, version: UInt64)]) {
        self.init(database: database, user: user, settingsMaterial: Self.settingsMaterial(settings), statement: statement, parameters: parameters,
                  parameterFormats: parameterFormats, resultFormats: resultFormats, schemaEpoch: schemaEpoch, dataEpoch: dataEpoch,
                  tableVersions: tableVersions)
    }

    /// The settings' part of a key, made once per change of a client's settings (`settingsMaterial(_:)`).
    public init(database: String, user: String, settingsMaterial: [UInt8], statement: Statement, parameters: [[UInt8]?] = [],
                parameterFormats: [Int16] = [], resultFormats: [Int16] = [], schemaEpoch: Int, dataEpoch: UInt64 = 0,
                tableVersions: [(table: QualifiedName, version: UInt64)]) {
        var out: [UInt8] = []
        out.reserveCapacity(128 + settingsMaterial.count)
        func field(_ bytes: some Collection<UInt8>) {
            Self.length(bytes.count, into: &out)
            out.append(contentsOf: bytes)
        }
        func text(_ s: String) { field(s.utf8) }
        text(database)
        text(user)
        out.append(contentsOf: settingsMaterial)
        switch statement {
        case .shape(let bytes):
            out.append(0)
            field(bytes)
        case .prepared(let id):
            out.append(1)
            Self.length(id, into: &out)
        }
        Self.length(parameters.count, into: &out)
        for p in parameters {
            if let p {
                out.append(1)
                field(p)
            } else {
                out.append(0)
            }
        }
        for formats in [parameterFormats, resultFormats] {
            Self.length(formats.count, into: &out)
            for f in formats { Self.length(Int(f), into: &out) }
        }
        Self.length(schemaEpoch, into: &out)
        Self.length(Int(truncatingIfNeeded: dataEpoch), into: &out)
        // In name order (schema, then name), so the order the statement names them in does not matter.
        let tables = tableVersions.count < 2 ? tableVersions
            : tableVersions.sorted { ($0.table.schema ?? "", $0.table.name) < ($1.table.schema ?? "", $1.table.name) }
        Self.length(tables.count, into: &out)
        for t in tables {
            text(t.table.schema ?? "")
            text(t.table.name)
            Self.length(Int(truncatingIfNeeded: t.version), into: &out)
        }
        material = out
        var hasher = Hasher()
        out.withUnsafeBytes { hasher.combine(bytes: $0) }
        hash = hasher.finalize()
    }

    /// The settings that change rows (`resultSettings` and custom ones), names folded, in name order, each field
    /// length-prefixed: the same for two clients exactly when their answers' settings are.
    public static func settingsMaterial(_ settings: [String: String]) -> [UInt8] {
        var out: [UInt8] = []
        let kept = settings.map { (name: $0.key.lowercased(), value: $0.value) }
            .filter { resultSettings.contains($0.name) || $0.name.contains(".") }
            .sorted { $0.name < $1.name }
        length(kept.count, into: &out)
        for s in kept {
            for part in [s.name, s.value] {
                length(part.utf8.count, into: &out)
                out.append(contentsOf: part.utf8)
            }
        }
        return out
    }

    /// Everything of a key but its versions: what one request's keys share, in this instance's tier (its own
    /// versions and schema epoch) and in the shared ones (the shared versions, the generation in place of the epoch).
    public struct Parts: Sendable {
        public let database: String
        public let user: String
        public let settingsMaterial: [UInt8]
        public let statement: Statement
        /// Bare names of the tables read, in the order `VersionStamp.versions` follows.
        public let tables: [String]

        public init(database: String, user: String, settingsMaterial: [UInt8], statement: Statement, tables: [String]) {
            self.database = database
            self.user = user
            self.settingsMaterial = settingsMaterial
            self.statement = statement
            self.tables = tables
        }

        public func key(schemaEpoch: Int, stamp: VersionStamp) -> CacheKey {
            CacheKey(database: database, user: user, settingsMaterial: settingsMaterial, statement: statement, schemaEpoch: schemaEpoch,
                     dataEpoch: stamp.epoch, tableVersions: zip(tables, stamp.versions).map { (QualifiedName($0), $1) })
        }
    }

    /// Eight bytes, big-endian: fixed width, so one field's end is never another's start.
    private static func length(_ n: Int, into out: inout [UInt8]) {
        withUnsafeBytes(of: UInt64(bitPattern: Int64(n)).bigEndian) { out.append(contentsOf: $0) }
    }

    public static func == (a: CacheKey, b: CacheKey) -> Bool { a.hash == b.hash && a.material == b.material }

    public func hash(into hasher: inout Hasher) { hasher.combine(hash) }

    /// Bytes the key takes in memory (what the L1 budget counts beside the answer).
    public var bytes: Int { material.count }
}
