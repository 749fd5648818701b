// CachePolicy.decide as a table: real statements' profiles against one set of [cache_rules] and their comments, with
// the safety verdict overriding both; then the rules' corner cases (fingerprints, search_path, tags, off).
import Config
import ResultCache
import SQLAnalysis
import Testing

@Suite("Cache policy")
struct CachePolicyTests {
    static let defaultTTL = 120.0

    /// Fingerprints come from the profiler itself, so a rule names exactly what the data path will compute.
    static func fingerprint(_ sql: String) -> UInt64 { StatementProfiler.profile(sql).fingerprint ?? 0 }

    static let eventsByKind = "SELECT count(*) FROM events WHERE kind = 'x'"
    static let productName = "SELECT name FROM products WHERE id = 1"
    static let clockRead = "SELECT now()"

    static let rules = CacheRules([
        CacheRuleEntry(target: .table(schema: nil, name: "products"), ttl: 300, tags: ["catalog"]),
        CacheRuleEntry(target: .table(schema: "public", name: "categories"), ttl: 60, tags: ["catalog", "nav"]),
        CacheRuleEntry(target: .table(schema: "app", name: "orders"), ttl: 10, tags: ["orders"]),
        CacheRuleEntry(target: .table(schema: nil, name: "audit_log"), ttl: 0),
        CacheRuleEntry(target: .table(schema: nil, name: "prices"), ttl: nil),
        CacheRuleEntry(target: .table(schema: "reports", name: "sales"), ttl: 30),
        CacheRuleEntry(target: .table(schema: "app", name: "items"), ttl: 10),
        CacheRuleEntry(target: .table(schema: "public", name: "items"), ttl: 50),
        CacheRuleEntry(target: .table(schema: nil, name: "Orders"), ttl: 7),
        CacheRuleEntry(target: .table(schema: nil, name: "tmp_scratch"), ttl: 30),
        CacheRuleEntry(target: .fingerprint(fingerprint(eventsByKind)), ttl: 15, tags: ["events"]),
        CacheRuleEntry(target: .fingerprint(fingerprint(productName)), ttl: 1200, tags: ["fp"]),
        CacheRuleEntry(target: .fingerprint(fingerprint(clockRead)), ttl: 60),
    ], defaultTTL: defaultTTL)

    struct Case: Sendable, CustomTestStringConvertible {
        var sql: String
        var hints: [String] = []
        var searchPath = ["app", "public"]
        var decision: CacheDecision
        var testDescription: String {
            "\(sql) \(hints.map { "/* \($0) */" }.joined()) [\(searchPath.joined(separator: ","))] → \(decision)"
        }
    }

    static func keep(_ ttl: Double, _ tags: [String] = []) -> CacheDecision { .keep(ttl: ttl, tags: tags) }
    static let refused = CacheDecision.pass(.refused)
    static let noRule = CacheDecision.pass(.noRule)
    static func unsafe(_ why: Uncacheable) -> CacheDecision { .pass(.unsafe(why)) }

    static let cases: [Case] = [
        // One table, its rule.
        Case(sql: "SELECT * FROM products WHERE id = 1", decision: keep(300, ["catalog"])),
        Case(sql: "SELECT * FROM prices", decision: keep(defaultTTL)),
        // Every table covered: the shortest time, tags merged once each.
        Case(sql: "SELECT * FROM products p JOIN categories c ON c.id = p.category_id", decision: keep(60, ["catalog", "nav"])),
        Case(sql: "SELECT * FROM products JOIN prices USING (id)", decision: keep(defaultTTL, ["catalog"])),
        Case(sql: "SELECT * FROM products p JOIN orders o ON o.product_id = p.id", decision: keep(10, ["catalog", "orders"])),
        // One table without a rule: nothing is kept unless a comment asks; then the covered tables' time and tags.
        Case(sql: "SELECT * FROM products JOIN unruled USING (id)", decision: noRule),
        Case(sql: "SELECT * FROM products JOIN unruled USING (id)", hints: ["cache"], decision: keep(300, ["catalog"])),
        Case(sql: "SELECT * FROM unruled", decision: noRule),
        Case(sql: "SELECT * FROM unruled", hints: ["cache"], decision: keep(defaultTTL)),
        Case(sql: "SELECT * FROM unruled", hints: ["cache ttl=5s tags=x"], decision: keep(5, ["x"])),
        // A comment's own time wins over its tables'; its tags join theirs.
        Case(sql: "SELECT * FROM products", hints: ["cache ttl=1h tags=home,catalog"], decision: keep(3600, ["catalog", "home"])),
        Case(sql: "SELECT * FROM products", hints: ["no cache"], decision: refused),
        Case(sql: "SELECT * FROM products", hints: ["cache", "no cache"], decision: refused),
        Case(sql: "SELECT * FROM products", hints: ["cache ttl=bogus"], decision: keep(300, ["catalog"])),
        // A table marked off refuses, whatever the other tables or a comment say.
        Case(sql: "SELECT * FROM products JOIN audit_log ON true", decision: refused),
        Case(sql: "SELECT * FROM audit_log", hints: ["cache ttl=30s"], decision: refused),
        Case(sql: "SELECT * FROM audit_log", hints: ["cache"], decision: refused),
        // No tables at all: only a comment makes it kept.
        Case(sql: "SELECT 1", decision: noRule),
        Case(sql: "SELECT 1", hints: ["cache"], decision: keep(defaultTTL)),
        Case(sql: "SELECT upper('x')", hints: ["cache ttl=2m"], decision: keep(120)),
        // Qualified names take their schema's rule, or an unqualified one; unqualified ones follow search_path.
        Case(sql: "SELECT * FROM public.categories", decision: keep(60, ["catalog", "nav"])),
        Case(sql: "SELECT * FROM other.categories", decision: noRule),
        Case(sql: "SELECT * FROM categories", searchPath: ["app"], decision: noRule),
        Case(sql: "SELECT * FROM public.products", decision: keep(300, ["catalog"])),
        Case(sql: "SELECT * FROM elsewhere.products", decision: keep(300, ["catalog"])),
        Case(sql: "SELECT * FROM orders", decision: keep(10, ["orders"])),
        Case(sql: "SELECT * FROM app.orders", decision: keep(10, ["orders"])),
        Case(sql: "SELECT * FROM public.orders", decision: noRule),
        Case(sql: "SELECT * FROM orders", searchPath: ["public"], decision: noRule),
        Case(sql: "SELECT * FROM reports.sales", decision: keep(30)),
        Case(sql: "SELECT * FROM sales", decision: noRule),
        Case(sql: "SELECT * FROM sales", searchPath: ["reports"], decision: keep(30)),
        Case(sql: "SELECT * FROM sales", searchPath: [], decision: noRule),
        // The first schema of search_path with a rule for the name gives it.
        Case(sql: "SELECT * FROM items", searchPath: ["app", "public"], decision: keep(10)),
        Case(sql: "SELECT * FROM items", searchPath: ["public", "app"], decision: keep(50)),
        Case(sql: "SELECT * FROM items", searchPath: ["nowhere", "public"], decision: keep(50)),
        Case(sql: "SELECT * FROM public.items", searchPath: ["app"], decision: keep(50)),
        // A quoted name keeps its case, as PostgreSQL keeps it; an unquoted one is folded.
        Case(sql: "SELECT * FROM \"Orders\"", searchPath: ["public"], decision: keep(7)),
        Case(sql: "SELECT * FROM Orders", searchPath: ["public"], decision: noRule),
        // Fingerprint rules: any literal, the same shape; another shape is not covered.
        Case(sql: eventsByKind, decision: keep(15, ["events"])),
        Case(sql: "SELECT count(*) FROM events WHERE kind = 'something else'", decision: keep(15, ["events"])),
        Case(sql: "select COUNT(*)   from events where kind = $1", decision: keep(15, ["events"])),
        Case(sql: "SELECT * FROM events", decision: noRule),
        Case(sql: eventsByKind, hints: ["no cache"], decision: refused),
        // A fingerprint rule names the statement itself: its time stands for its tables' (a design choice: not the
        // shortest), and their tags join its own.
        Case(sql: productName, decision: keep(1200, ["catalog", "fp"])),
        Case(sql: "SELECT name FROM products p JOIN audit_log a ON true WHERE p.id = 1", decision: refused),
        // Not safe to keep: no rule, fingerprint rule or comment changes that.
        Case(sql: "SELECT now(), * FROM products", hints: ["cache ttl=30s"], decision: unsafe(.timeDependent)),
        Case(sql: "SELECT * FROM products WHERE created > CURRENT_TIMESTAMP", decision: unsafe(.timeDependent)),
        Case(sql: "SELECT random() FROM products", hints: ["cache"], decision: unsafe(.timeDependent)),
        Case(sql: clockRead, hints: ["cache"], decision: unsafe(.timeDependent)),
        Case(sql: "SELECT pg_backend_pid() FROM products", hints: ["cache"], decision: unsafe(.serverDependent)),
        Case(sql: "SELECT * FROM pg_catalog.pg_class", hints: ["cache"], decision: unsafe(.systemCatalog)),
        Case(sql: "SELECT * FROM pg_class", hints: ["cache"], decision: unsafe(.systemCatalog)),
        Case(sql: "SELECT * FROM information_schema.tables", hints: ["cache"], decision: unsafe(.systemCatalog)),
        Case(sql: "UPDATE products SET price = 1 WHERE id = 2", hints: ["cache"], decision: unsafe(.notARead)),
        Case(sql: "INSERT INTO products VALUES (1)", decision: unsafe(.notARead)),
        Case(sql: "SELECT * FROM products FOR UPDATE", hints: ["cache"], decision: unsafe(.notARead)),
        Case(sql: "WITH d AS (DELETE FROM products RETURNING *) SELECT * FROM d", hints: ["cache"], decision: unsafe(.notARead)),
        Case(sql: "SELECT nextval('products_id_seq')", hints: ["cache"], decision: unsafe(.notARead)),
        Case(sql: "SELEC * FROM products", hints: ["cache"], decision: unsafe(.notARead)),
        Case(sql: "SELECT * FROM products; SELECT * FROM prices", hints: ["cache"], decision: unsafe(.severalStatements)),
        Case(sql: "SET search_path = app", hints: ["cache"], decision: unsafe(.setsSession)),
        Case(sql: "SELECT set_config('app.tenant', '1', false) FROM products", hints: ["cache"], decision: unsafe(.setsSession)),
        Case(sql: "BEGIN", hints: ["cache"], decision: unsafe(.transactionControl)),
        Case(sql: "SELECT audit_fn(id) FROM products", hints: ["cache"], decision: unsafe(.unsafeFunction)),
        Case(sql: "SELECT app.stable_fn(id) FROM products", decision: unsafe(.unsafeFunction)),
        Case(sql: "SELECT * FROM tmp_scratch", hints: ["cache"], decision: unsafe(.temporaryTable)),
        Case(sql: "SELECT * FROM pg_temp.scratch", hints: ["cache"], decision: unsafe(.temporaryTable)),
        // "no cache" is looked at first: an unsafe statement with it is refused (it passes either way).
        Case(sql: "SELECT now()", hints: ["no cache"], decision: refused),
    ]

    @Test(arguments: cases)
    func decide(_ c: Case) {
        let profile = StatementProfiler.profile(c.sql)
        let decision = CachePolicy.decide(profile, hints: c.hints, rules: Self.rules, searchPath: c.searchPath,
                                          volatile: ["audit_fn"], stable: ["app.stable_fn"], nonPermanent: ["tmp_scratch"])
        #expect(decision == c.decision)
    }

    /// Every table of the statement is looked at: a rule `off` on the last table read still refuses.
    @Test func offOnAnyTableRefusesWhateverTheOrder() {
        for sql in ["SELECT * FROM audit_log JOIN products ON true", "SELECT * FROM products JOIN prices USING (id) JOIN audit_log ON true",
                    "SELECT * FROM products WHERE id IN (SELECT product_id FROM audit_log)"] {
            for hints in [[], ["cache"], ["cache ttl=10s tags=x"]] {
                let d = CachePolicy.decide(StatementProfiler.profile(sql), hints: hints, rules: Self.rules, searchPath: ["public"])
                #expect(d == Self.refused, "\(sql) \(hints)")
            }
        }
    }

    @Test func noRulesAtAllKeepOnlyWhatACommentAsksFor() {
        let none = CacheRules([], defaultTTL: 45)
        #expect(none.isEmpty)
        let profile = StatementProfiler.profile("SELECT * FROM products")
        #expect(CachePolicy.decide(profile, hints: [], rules: none, searchPath: ["public"]) == Self.noRule)
        #expect(CachePolicy.decide(profile, hints: ["cache"], rules: none, searchPath: ["public"]) == Self.keep(45))
    }

    /// A fingerprint marked `off` must refuse as a table marked off does, even when a comment asks: the operator
    /// turned that statement's caching off. The comment's path reads the rule's ttl (0) as a time instead.
    @Test(arguments: [["cache"], ["cache ttl=30s"]])
    func aFingerprintMarkedOffRefusesEvenWithAComment(_ hints: [String]) {
        let sql = "SELECT count(*) FROM events WHERE kind = 'x'"
        let rules = CacheRules([CacheRuleEntry(target: .fingerprint(Self.fingerprint(sql)), ttl: 0)], defaultTTL: 60)
        let profile = StatementProfiler.profile(sql)
        #expect(CachePolicy.decide(profile, hints: [], rules: rules, searchPath: ["public"]) == Self.refused)
        #expect(CachePolicy.decide(profile, hints: hints, rules: rules, searchPath: ["public"]) == Self.refused)
    }

    /// A fingerprint rule's tags are what CACHE INVALIDATE TAG finds its answers by: a comment on the statement must
    /// not make them disappear (tables' tags are kept with a comment; the fingerprint's are dropped).
    @Test func aFingerprintRulesTagsStayWhenACommentAsks() {
        let profile = StatementProfiler.profile(Self.eventsByKind)
        #expect(CachePolicy.decide(profile, hints: ["cache tags=extra"], rules: Self.rules, searchPath: ["public"])
                == Self.keep(15, ["events", "extra"]))
    }

    /// The same tag written in a rule and in a comment is one tag. Comment words are folded to lower case while rule
    /// tags keep theirs, so "Catalog" comes out twice, and CACHE INVALIDATE TAG Catalog (matched exactly) misses the
    /// commented answers.
    @Test func aTagWrittenAlikeInARuleAndACommentIsOneTag() {
        let rules = CacheRules([CacheRuleEntry(target: .table(schema: nil, name: "products"), ttl: 300, tags: ["Catalog"])], defaultTTL: 60)
        let profile = StatementProfiler.profile("SELECT * FROM products")
        #expect(CachePolicy.decide(profile, hints: ["cache tags=Catalog"], rules: rules, searchPath: ["public"]) == Self.keep(300, ["Catalog"]))
    }
}
