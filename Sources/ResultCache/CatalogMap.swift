// What a database's catalog tells the cache: which tables' cached reads a write to a table must move (partitions and
// parents, views, foreign-key cascades), where a write may reach anything (triggers, rules), which functions may
// write or read other tables, and which tables are never safe to keep (unlogged, foreign).
public struct CatalogMap: Sendable, Equatable {
    /// Bare table name -> bare names whose reads a write to it changes (direct edges; `closure` follows them).
    public private(set) var dependents: [String: Set<String>] = [:]
    /// Tables with a user trigger or a rule: a write there may change any table.
    public private(set) var reachAnything: Set<String> = []
    /// User functions (bare names) declared VOLATILE, and STABLE.
    public private(set) var volatile: Set<String> = []
    public private(set) var stable: Set<String> = []
    /// Unlogged and foreign tables: their rows change without a write pgswift sees, or differ between nodes.
    public private(set) var nonPermanent: Set<String> = []

    public init() {}

    /// Every table a write to `tables` may change, the tables themselves included; nil when it may reach anything.
    public func closure(of tables: [String]) -> [String]? {
        var out = tables, seen = Set(tables), i = 0
        while i < out.count {
            if reachAnything.contains(out[i]) { return nil }
            for d in dependents[out[i]] ?? [] where seen.insert(d).inserted { out.append(d) }
            i += 1
        }
        return out
    }

    /// The catalog query's one column: records separated by RS (0x1E), fields by US (0x1F): kind, a, b.
    public init(parsing text: String) {
        for record in text.split(separator: "\u{1E}", omittingEmptySubsequences: true) {
            let f = record.split(separator: "\u{1F}", omittingEmptySubsequences: false).map(String.init)
            guard f.count == 3 else { continue }
            let (a, b) = (f[1], f[2])
            switch f[0] {
            case "i":
                // A partition and its parent: a write to either changes what reads of the other return.
                dependents[a, default: []].insert(b)
                dependents[b, default: []].insert(a)
            case "v":
                // A table and a view over it: a write to the table changes the view, a write through an updatable
                // view changes the table.
                dependents[a, default: []].insert(b)
                dependents[b, default: []].insert(a)
            case "f":
                // A referenced table and one its deletes or updates cascade to.
                dependents[a, default: []].insert(b)
            case "t", "r": reachAnything.insert(a)
            case "V": volatile.insert(a)
            case "S": stable.insert(a)
            case "u": nonPermanent.insert(a)
            default: continue
            }
        }
    }

    /// One row, one column: the whole map (see `init(parsing:)`).
    public static let sql = """
        SELECT coalesce(string_agg(k || chr(31) || a || chr(31) || b, chr(30)), '') FROM ( \
        SELECT 'i' AS k, c.relname::text AS a, p.relname::text AS b FROM pg_catalog.pg_inherits i \
        JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid JOIN pg_catalog.pg_class p ON p.oid = i.inhparent \
        UNION SELECT 'v', t.relname, v.relname FROM pg_catalog.pg_rewrite r JOIN pg_catalog.pg_class v ON v.oid = r.ev_class \
        JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.objid = r.oid \
        AND d.refclassid = 'pg_catalog.pg_class'::regclass JOIN pg_catalog.pg_class t ON t.oid = d.refobjid \
        WHERE v.relkind IN ('v', 'm') AND t.oid <> v.oid \
        AND v.relnamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace) \
        UNION SELECT 'f', p.relname, c.relname FROM pg_catalog.pg_constraint k JOIN pg_catalog.pg_class c ON c.oid = k.conrelid \
        JOIN pg_catalog.pg_class p ON p.oid = k.confrelid \
        WHERE k.contype = 'f' AND (k.confdeltype IN ('c', 'n', 'd') OR k.confupdtype IN ('c', 'n', 'd')) \
        UNION SELECT 't', c.relname, '' FROM pg_catalog.pg_trigger g JOIN pg_catalog.pg_class c ON c.oid = g.tgrelid WHERE NOT g.tgisinternal \
        UNION SELECT 'r', c.relname, '' FROM pg_catalog.pg_rewrite r JOIN pg_catalog.pg_class c ON c.oid = r.ev_class \
        WHERE c.relkind IN ('r', 'p', 'f', 'v') AND r.rulename <> '_RETURN' \
        UNION SELECT CASE p.provolatile WHEN 'v' THEN 'V' ELSE 'S' END, lower(p.proname), '' FROM pg_catalog.pg_proc p \
        JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace \
        WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND p.provolatile IN ('v', 's') \
        UNION SELECT 'u', c.relname, '' FROM pg_catalog.pg_class c WHERE (c.relpersistence = 'u' AND c.relkind IN ('r', 'p')) OR c.relkind = 'f' \
        ) m
        """

    /// One row, one column that changes whenever DDL changes a user table, column, view, function, trigger or
    /// constraint (row counts and transaction ids of the catalogs' user rows; maintenance updates them in place,
    /// which leaves them as they were). Temporary schemas are left out: sessions make temporary tables all the time.
    public static let signatureSQL = """
        WITH ns AS (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname !~ '^pg_' AND nspname <> 'information_schema'), \
        rel AS (SELECT oid, xmin FROM pg_catalog.pg_class WHERE relnamespace IN (SELECT oid FROM ns)) \
        SELECT concat_ws('/', \
        (SELECT count(*) || ':' || coalesce(sum(xmin::text::bigint), 0) FROM rel), \
        (SELECT count(*) || ':' || coalesce(sum(a.xmin::text::bigint), 0) FROM pg_catalog.pg_attribute a WHERE a.attrelid IN (SELECT oid FROM rel)), \
        (SELECT count(*) || ':' || coalesce(sum(xmin::text::bigint), 0) FROM pg_catalog.pg_proc WHERE pronamespace IN (SELECT oid FROM ns)), \
        (SELECT count(*) || ':' || coalesce(sum(xmin::text::bigint), 0) FROM pg_catalog.pg_rewrite WHERE ev_class IN (SELECT oid FROM rel)), \
        (SELECT count(*) || ':' || coalesce(sum(xmin::text::bigint), 0) FROM pg_catalog.pg_trigger WHERE tgrelid IN (SELECT oid FROM rel)), \
        (SELECT count(*) || ':' || coalesce(sum(xmin::text::bigint), 0) FROM pg_catalog.pg_constraint WHERE connamespace IN (SELECT oid FROM ns)))
        """
}
