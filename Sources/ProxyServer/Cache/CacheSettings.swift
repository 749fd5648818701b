// The result cache's settings as the data path reads them, built once per load, reload or SET.
import Config
import ResultCache

struct CacheSettings: Sendable {
    enum Mode: String, Sendable { case off, on, auto }

    let global: Mode
    /// Entries that say otherwise (`cache=` in [databases]).
    let byDatabase: [String: Mode]
    let rules: CacheRules
    let l1MaxBytes: Int
    let maxEntryBytes: Int
    let eviction: EvictionPolicy
    /// write_functions: calls that may write whatever the catalog says.
    let writeFunctions: Set<String>

    init(_ c: ProxyConfig) {
        global = Mode(rawValue: c.string("cache")) ?? .off
        var by: [String: Mode] = [:]
        for (name, entry) in c.databases {
            if case .string(let s)? = entry.routing["cache"], let m = Mode(rawValue: s) { by[name] = m }
        }
        byDatabase = by
        rules = CacheRules(c.cacheRules, defaultTTL: c.seconds("cache_default_ttl"))
        l1MaxBytes = c.bytes("cache_l1_max_bytes")
        maxEntryBytes = c.bytes("cache_max_entry_bytes")
        eviction = EvictionPolicy(rawValue: c.string("cache_eviction")) ?? .s3fifo
        writeFunctions = Set(c.list("write_functions").map { $0.lowercased() })
    }

    func mode(database: String) -> Mode { byDatabase[database] ?? global }

    /// Whether any database may keep answers: every client then reports its writes, whatever its own database, as
    /// two entries may name one PostgreSQL database.
    var anyOn: Bool { global != .off || byDatabase.values.contains { $0 != .off } }
}
