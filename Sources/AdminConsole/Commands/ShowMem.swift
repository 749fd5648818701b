// SHOW MEM: pgswift's live objects by kind, with the heap bytes one of them takes (malloc's usable size).

/// PgBouncer reports its slab caches; pgswift allocates with malloc and keeps no free lists, so `free` is 0 and
/// `size` is what malloc really reserved for one live object of the kind (0 when none is alive to measure).
enum ShowMem: AdminCommand {
    static let name = "SHOW MEM"

    static func run(_ call: AdminCall) async throws -> AdminReply {
        let m = try await call.runtime.memory()
        var t = AdminTable([("name", .text), ("size", .int4), ("used", .int4), ("free", .int4), ("memtotal", .int4)])
        let rows = [("pool_cache", m.pools), ("server_cache", m.servers), ("client_cache", m.clients),
                    ("server_prepared_statement_cache", m.preparedStatements)]
        for (name, kind) in rows { t.add([.text(name), .int(kind.size), .int(kind.used), 0, .int(kind.size * kind.used)]) }
        return .table(t)
    }
}
