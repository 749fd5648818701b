// SHOW CACHE_CANDIDATES (pgswift's own): safe reads no rule covers, by fingerprint, with how often they repeat and
// how often their tables are written; the rule that would cover each.

public struct AdminCacheCandidate: Sendable, Equatable {
    public var fingerprint: UInt64
    public var sample: String
    public var tables: [String]
    public var reads: Int
    public var repeats: Int
    /// Writes pgswift saw to any of the tables.
    public var tableWrites: Int

    public init(fingerprint: UInt64, sample: String, tables: [String], reads: Int, repeats: Int, tableWrites: Int) {
        self.fingerprint = fingerprint
        self.sample = sample
        self.tables = tables
        self.reads = reads
        self.repeats = repeats
        self.tableWrites = tableWrites
    }
}

enum ShowCacheCandidates: AdminCommand {
    static let name = "SHOW CACHE_CANDIDATES"

    static func run(_ call: AdminCall) async throws -> AdminReply {
        var t = AdminTable([("fingerprint", .text), ("tables", .text), ("reads", .int8), ("repeats", .int8), ("repeat_ratio", .numeric),
                            ("table_writes", .int8), ("reads_per_write", .numeric), ("rule", .text), ("query", .text)])
        let rows = try await call.runtime.cacheCandidates().sorted { ($0.repeats, $0.reads) > ($1.repeats, $1.reads) }
        for c in rows {
            let hex = String(c.fingerprint, radix: 16)
            let fingerprint = String(repeating: "0", count: max(0, 16 - hex.count)) + hex
            let ratio = c.reads > 0 ? String(format: "%.3f", Double(c.repeats) / Double(c.reads)) : "0"
            let perWrite: AdminValue = c.tableWrites > 0 ? .text(String(format: "%.1f", Double(c.reads) / Double(c.tableWrites))) : .null
            t.add([.text(fingerprint), .text(c.tables.joined(separator: ",")), .int(c.reads), .int(c.repeats), .text(ratio),
                   .int(c.tableWrites), perWrite, .text("fingerprint.\(fingerprint) = 60s"), .text(c.sample)])
        }
        return .table(t)
    }
}
