// The result cache's configuration loaded from real files: [cache_rules] lines and their errors, the cache settings,
// `cache` per database, and the CACHE_TTL_SECONDS / CACHE_MEMORY_SIZE_MB environment aliases.
import Foundation
import Testing

@testable import Config

@Suite("ConfigLoader: the result cache")
struct CacheRulesConfigTests {
    static let general = "[pgswift]\nauth_type = trust\n"

    static func rules(_ lines: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> (path: String, rules: [CacheRuleEntry]) {
        let dir = try TempDir()
        let path = try dir.write("cache.ini", general + "[cache_rules]\n" + lines)
        let c = try loadValid(path, sourceLocation: sourceLocation)
        return (path, c.cacheRules)
    }

    @Test("each kind of [cache_rules] line, in file order, each with its place")
    func rulesParse() throws {
        let (path, rules) = try Self.rules("""
            products = 60s
            public.categories = 5min tags=catalog,nav
            Sales.Orders = 1h
            public."MixedCase" = 30
            fingerprint.0a1b2c3d4e5f6071 = 15s tags=hot
            FINGERPRINT.FF = 2s
            audit_log = off
            secrets = never
            tokens = 0
            prices = default tags=prices
            TAGGED = 1.5 TAGS=a,,b
            """)
        #expect(rules.map(\.target) == [
            .table(schema: nil, name: "products"), .table(schema: "public", name: "categories"), .table(schema: "sales", name: "orders"),
            .table(schema: "public", name: "MixedCase"), .fingerprint(0x0a1b_2c3d_4e5f_6071), .fingerprint(0xff),
            .table(schema: nil, name: "audit_log"), .table(schema: nil, name: "secrets"), .table(schema: nil, name: "tokens"),
            .table(schema: nil, name: "prices"), .table(schema: nil, name: "tagged"),
        ])
        #expect(rules.map(\.ttl) == [60, 300, 3600, 30, 15, 2, 0, 0, 0, nil, 1.5])
        #expect(rules.map(\.tags) == [[], ["catalog", "nav"], [], [], ["hot"], [], [], [], [], ["prices"], ["a", "b"]])
        #expect(rules.map(\.source) == (4...14).map { .file(path, line: $0) })
        #expect(rules[4].target.description == "fingerprint.0a1b2c3d4e5f6071")
        #expect(rules[5].target.description == "fingerprint.00000000000000ff")
        #expect(rules[1].target.description == "public.categories")
        #expect(rules[1].target.bareName == "categories" && rules[4].target.bareName == nil)
    }

    /// The rule syntax documented on CacheRuleEntry.parse (`products = 5m tags=catalog,home`) and the comment's
    /// (`ttl=5m`) write minutes as `m`; the duration parser knows `min` only, so the documented line is refused.
    @Test("a time in minutes written 5m, as the documented example writes it")
    func minutesWrittenM() throws {
        let (_, rules) = try Self.rules("products = 5m tags=catalog,home\n")
        #expect(rules.first?.ttl == 300)
    }

    /// A name in double quotes keeps its case, as PostgreSQL keeps it. When the whole key is one quoted name, the ini
    /// reader takes the quotes off first (as it does for "my-db" in [databases]), so the name is then folded; and a
    /// key that starts and ends with a quote but is two quoted names loses its outer quotes and no longer parses.
    @Test("a wholly quoted table name keeps its case", arguments: [
        ("\"MyTable\" = 60s", CacheRuleEntry.Target.table(schema: nil, name: "MyTable")),
        ("\"Sales\".\"Orders\" = 60s", CacheRuleEntry.Target.table(schema: "Sales", name: "Orders")),
        ("\"Sales\".orders = 60s", CacheRuleEntry.Target.table(schema: "Sales", name: "orders")),
    ])
    func quotedNamesKeepCase(_ line: String, _ target: CacheRuleEntry.Target) throws {
        let dir = try TempDir()
        let path = try dir.write("q.ini", Self.general + "[cache_rules]\n" + line + "\n")
        do throws(ConfigErrors) {
            let c = try ConfigLoader.load(path: path)
            #expect(c.cacheRules.map(\.target) == [target])
        } catch {
            Issue.record("\(line) refused: \(error.description)")
        }
    }

    struct Bad: Sendable, CustomTestStringConvertible {
        var line: String
        var key: String
        var message: String
        var testDescription: String { line }
    }

    @Test("a bad line is refused with its file, line and key", arguments: [
        Bad(line: "products = soon", key: "products", message: "invalid duration \"soon\""),
        Bad(line: "products = -5s", key: "products", message: "invalid duration \"-5s\""),
        Bad(line: "products = 0s", key: "products", message: "invalid time \"0s\""),
        Bad(line: "products =", key: "products", message: "invalid rule \"\" (expected a time such as 60s, `default` or `off`, then optionally tags=a,b)"),
        Bad(line: "products = 60s 30s", key: "products",
            message: "invalid rule \"60s 30s\" (expected a time such as 60s, `default` or `off`, then optionally tags=a,b)"),
        Bad(line: "products = tags=a", key: "products",
            message: "invalid rule \"tags=a\" (expected a time such as 60s, `default` or `off`, then optionally tags=a,b)"),
        Bad(line: "products = 60s tags=", key: "products", message: "tags= names no tag"),
        Bad(line: "products = 60s tags=,", key: "products", message: "tags= names no tag"),
        Bad(line: "a.b.c = 60s", key: "a.b.c", message: "invalid table name \"a.b.c\" (name or schema.name; double quotes keep case)"),
        Bad(line: "my-table = 60s", key: "my-table", message: "invalid table name \"my-table\" (name or schema.name; double quotes keep case)"),
        Bad(line: ".products = 60s", key: ".products", message: "invalid table name \".products\" (name or schema.name; double quotes keep case)"),
        Bad(line: "public. = 60s", key: "public.", message: "invalid table name \"public.\" (name or schema.name; double quotes keep case)"),
        Bad(line: "public.\"open = 60s", key: "public.\"open", message: "invalid table name \"public.\"open\" (name or schema.name; double quotes keep case)"),
        Bad(line: "fingerprint. = 60s", key: "fingerprint.", message: "invalid fingerprint \"\" (up to 16 hexadecimal digits)"),
        Bad(line: "fingerprint.xyz = 60s", key: "fingerprint.xyz", message: "invalid fingerprint \"xyz\" (up to 16 hexadecimal digits)"),
        Bad(line: "fingerprint.0123456789abcdef0 = 60s", key: "fingerprint.0123456789abcdef0",
            message: "invalid fingerprint \"0123456789abcdef0\" (up to 16 hexadecimal digits)"),
    ])
    func badLine(_ bad: Bad) throws {
        let dir = try TempDir()
        let path = try dir.write("bad.ini", Self.general + "[cache_rules]\nfine = 10s\n" + bad.line + "\nalso_fine = 20s\n")
        let errors = loadErrors(path)
        #expect(errors == [ConfigError(file: path, line: 5, key: bad.key, message: bad.message)])
    }

    @Test("a bad line in an included file names that file")
    func badLineInInclude() throws {
        let dir = try TempDir()
        let rules = try dir.write("rules.ini", "[cache_rules]\n\nproducts = whenever\n")
        let path = try dir.write("main.ini", Self.general + "%include \(rules)\n")
        #expect(loadErrors(path) == [ConfigError(file: rules, line: 3, key: "products", message: "invalid duration \"whenever\"")])
    }

    @Test("a second rule for the same target is refused, naming where the first is", arguments: [
        ("products = 60s", "PRODUCTS = 5s", "products"),
        ("public.products = 60s", "Public.Products = off", "public.products"),
        ("fingerprint.0a1b = 60s", "fingerprint.A1B = 5s", "fingerprint.0000000000000a1b"),
    ])
    func duplicate(_ first: String, _ second: String, _ named: String) throws {
        let dir = try TempDir()
        let path = try dir.write("dup.ini", Self.general + "[cache_rules]\n\(first)\nother = 1s\n\(second)\n")
        let errors = loadErrors(path)
        let key = String(second.prefix { $0 != " " })
        #expect(errors == [ConfigError(file: path, line: 6, key: key, message: "\(named) has a rule already (\(path):4)")])
    }

    @Test("a table's unqualified and qualified rules are two targets, not a duplicate")
    func qualifiedAndUnqualifiedAreDistinct() throws {
        let (_, rules) = try Self.rules("products = 60s\npublic.products = 10s\napp.products = off\n")
        #expect(rules.count == 3)
    }

    @Test("the cache settings, from the file")
    func settings() throws {
        let dir = try TempDir()
        let path = try dir.write("s.ini", Self.general + """
            cache = auto
            cache_default_ttl = 90s
            cache_l1_max_bytes = 64MB
            cache_max_entry_bytes = 256kB
            cache_eviction = LRU
            """)
        let c = try loadValid(path)
        #expect(c.string("cache") == "auto")
        #expect(c.seconds("cache_default_ttl") == 90)
        #expect(c.bytes("cache_l1_max_bytes") == 64 << 20)
        #expect(c.bytes("cache_max_entry_bytes") == 256 << 10)
        #expect(c.string("cache_eviction") == "lru")
        let defaults = try loadValid(try dir.write("d.ini", Self.general))
        #expect(defaults.string("cache") == "off")
        #expect(defaults.seconds("cache_default_ttl") == 60)
        #expect(defaults.bytes("cache_l1_max_bytes") == 200 << 20)
        #expect(defaults.bytes("cache_max_entry_bytes") == 1 << 20)
        #expect(defaults.string("cache_eviction") == "s3fifo")
        #expect(defaults.cacheRules.isEmpty)
    }

    @Test("bad cache settings are refused with their line", arguments: [
        ("cache = sometimes", "cache", "invalid value \"sometimes\" (expected one of: off, on, auto)"),
        ("cache_eviction = clock", "cache_eviction", "invalid value \"clock\" (expected one of: s3fifo, lru)"),
        ("cache_default_ttl = long", "cache_default_ttl", "invalid duration \"long\""),
        ("cache_l1_max_bytes = lots", "cache_l1_max_bytes", "invalid size \"lots\""),
    ])
    func badSetting(_ line: String, _ key: String, _ message: String) throws {
        let dir = try TempDir()
        let path = try dir.write("b.ini", Self.general + line + "\n")
        #expect(loadErrors(path) == [ConfigError(file: path, line: 3, key: key, message: message)])
    }

    @Test("cache per [databases] entry overrides the global switch")
    func cachePerDatabase() throws {
        let dir = try TempDir()
        let path = try dir.write("db.ini", Self.general + """
            cache = off
            [databases]
            shop = host=localhost dbname=shop cache=on
            reports = host=localhost dbname=reports cache=AUTO
            plain = host=localhost dbname=plain
            """)
        let c = try loadValid(path)
        let shop = try #require(c.databases["shop"]), reports = try #require(c.databases["reports"]), plain = try #require(c.databases["plain"])
        #expect(c.routing("cache", for: shop) == .string("on"))
        #expect(c.routing("cache", for: reports) == .string("auto"))
        #expect(c.routing("cache", for: plain) == .string("off"))
        #expect(c.warnings.isEmpty)
    }

    @Test("a bad cache value in a [databases] entry names the entry and the key")
    func badCachePerDatabase() throws {
        let dir = try TempDir()
        let path = try dir.write("db.ini", Self.general + "[databases]\nshop = host=localhost cache=maybe\n")
        #expect(loadErrors(path) == [ConfigError(file: path, line: 4, key: "shop.cache", message: "invalid value \"maybe\" (expected one of: off, on, auto)")])
    }

    // MARK: the environment

    @Test("CACHE_TTL_SECONDS and CACHE_MEMORY_SIZE_MB set their settings over the file")
    func aliases() throws {
        let dir = try TempDir()
        let path = try dir.write("e.ini", Self.general + "cache_default_ttl = 90s\ncache_l1_max_bytes = 64MB\n")
        let c = try loadValid(path, environment: ["CACHE_TTL_SECONDS": "30", "CACHE_MEMORY_SIZE_MB": "512"])
        #expect(c.seconds("cache_default_ttl") == 30)
        #expect(c.bytes("cache_l1_max_bytes") == 512 << 20)
        #expect(c.settings["cache_default_ttl"]?.source == .environment("CACHE_TTL_SECONDS"))
        #expect(c.settings["cache_l1_max_bytes"]?.source == .environment("CACHE_MEMORY_SIZE_MB"))
        // Fractions of a second are seconds too.
        let half = try loadValid(path, environment: ["CACHE_TTL_SECONDS": "0.5"])
        #expect(half.seconds("cache_default_ttl") == 0.5)
    }

    @Test("a PGSWIFT_ variable of the same setting wins over the alias")
    func pgswiftVariableWins() throws {
        let dir = try TempDir()
        let path = try dir.write("e.ini", Self.general)
        let c = try loadValid(path, environment: ["CACHE_TTL_SECONDS": "30", "PGSWIFT_CACHE_DEFAULT_TTL": "10s",
                                                  "CACHE_MEMORY_SIZE_MB": "512", "PGSWIFT_CACHE_L1_MAX_BYTES": "32MB"])
        #expect(c.seconds("cache_default_ttl") == 10)
        #expect(c.bytes("cache_l1_max_bytes") == 32 << 20)
        #expect(c.settings["cache_default_ttl"]?.source == .environment("PGSWIFT_CACHE_DEFAULT_TTL"))
        #expect(c.settings["cache_l1_max_bytes"]?.source == .environment("PGSWIFT_CACHE_L1_MAX_BYTES"))
        // The alias is not even read then: a bad one beside a good PGSWIFT_ variable is no error.
        _ = try loadValid(path, environment: ["CACHE_TTL_SECONDS": "never", "PGSWIFT_CACHE_DEFAULT_TTL": "10s"])
    }

    @Test("a bad alias is an error under the variable's own name")
    func badAlias() throws {
        let dir = try TempDir()
        let path = try dir.write("e.ini", Self.general)
        let errors = loadErrors(path, environment: ["CACHE_MEMORY_SIZE_MB": "-1"])
        #expect(errors.count == 1)
        #expect(errors.first?.file == "environment" && errors.first?.line == 0 && errors.first?.key == "CACHE_MEMORY_SIZE_MB")
    }

    /// The unit is appended to the variable's text before parsing, so the message quotes a value the operator never
    /// wrote ("abcs" for CACHE_TTL_SECONDS=abc).
    @Test("a bad alias's message quotes the value as the operator wrote it")
    func badAliasMessage() throws {
        let dir = try TempDir()
        let path = try dir.write("e.ini", Self.general)
        let errors = loadErrors(path, environment: ["CACHE_TTL_SECONDS": "abc"])
        #expect(errors.map(\.message) == ["invalid number \"abc\""])
    }

    /// The size parser caps every size at Int32.max bytes (PgBouncer's packet sizes); the cache's memory is the one
    /// size a server gives gigabytes to, and CACHE_MEMORY_SIZE_MB=4096 (or cache_l1_max_bytes = 4GB) is refused.
    @Test("a cache memory size of several gigabytes", arguments: [["CACHE_MEMORY_SIZE_MB": "4096"], ["PGSWIFT_CACHE_L1_MAX_BYTES": "4GB"]])
    func gigabytesOfCache(_ environment: [String: String]) throws {
        let dir = try TempDir()
        let path = try dir.write("e.ini", Self.general)
        do throws(ConfigErrors) {
            let c = try ConfigLoader.load(path: path, environment: environment)
            #expect(c.bytes("cache_l1_max_bytes") == 4 << 30)
        } catch {
            Issue.record("refused: \(error.description)")
        }
    }
}
