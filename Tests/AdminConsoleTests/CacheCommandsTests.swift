// CACHE CLEAR, CACHE INVALIDATE and SHOW CACHE against the recording runtime: the call each line makes, its refusals
// and rights, and the table SHOW CACHE draws.
import AdminConsole
import Foundation
import Testing

@Suite("Cache commands")
struct CacheCommandsTests {
    static let needs = "CACHE INVALIDATE needs TABLE name, TAG name, FINGERPRINT hex or PATTERN glob"

    struct Line: Sendable, CustomTestStringConvertible {
        var text: String
        var call: FakeRuntime.Call
        var tag: String
        var testDescription: String { text }
    }

    @Test("each line reaches the runtime as its call", arguments: [
        Line(text: "CACHE CLEAR", call: .cacheClear, tag: "CACHE CLEAR"),
        Line(text: "cache clear;", call: .cacheClear, tag: "CACHE CLEAR"),
        Line(text: "  Cache\tClear ", call: .cacheClear, tag: "CACHE CLEAR"),
        Line(text: "CACHE INVALIDATE TABLE public.products", call: .cacheInvalidate(.table("public.products")), tag: "CACHE INVALIDATE"),
        Line(text: "cache invalidate table products;", call: .cacheInvalidate(.table("products")), tag: "CACHE INVALIDATE"),
        Line(text: "CACHE INVALIDATE TAG catalog", call: .cacheInvalidate(.tag("catalog")), tag: "CACHE INVALIDATE"),
        Line(text: "CACHE INVALIDATE TAG x", call: .cacheInvalidate(.tag("x")), tag: "CACHE INVALIDATE"),
        Line(text: "CACHE INVALIDATE TAG 'two words'", call: .cacheInvalidate(.tag("two words")), tag: "CACHE INVALIDATE"),
        Line(text: "CACHE INVALIDATE FINGERPRINT 0a1b", call: .cacheInvalidate(.fingerprint(0x0a1b)), tag: "CACHE INVALIDATE"),
        Line(text: "CACHE INVALIDATE FINGERPRINT 0x0A1B", call: .cacheInvalidate(.fingerprint(0x0a1b)), tag: "CACHE INVALIDATE"),
        Line(text: "CACHE INVALIDATE FINGERPRINT ffffffffffffffff", call: .cacheInvalidate(.fingerprint(.max)), tag: "CACHE INVALIDATE"),
        Line(text: "CACHE INVALIDATE PATTERN 'prod*'", call: .cacheInvalidate(.pattern("prod*")), tag: "CACHE INVALIDATE"),
        Line(text: "CACHE INVALIDATE PATTERN prod?_*", call: .cacheInvalidate(.pattern("prod?_*")), tag: "CACHE INVALIDATE"),
        Line(text: "CACHE INVALIDATE PATTERN 'it''s'", call: .cacheInvalidate(.pattern("it's")), tag: "CACHE INVALIDATE"),
        // Host-like lengths: a long qualified name fits (the limit is the DRAIN NODE one, not 63).
        Line(text: "CACHE INVALIDATE TABLE " + String(repeating: "s", count: 63) + "." + String(repeating: "t", count: 63),
             call: .cacheInvalidate(.table(String(repeating: "s", count: 63) + "." + String(repeating: "t", count: 63))), tag: "CACHE INVALIDATE"),
    ])
    func reachesTheRuntime(_ line: Line) async {
        let runtime = FakeRuntime()
        #expect(outcome(await run(line.text, runtime)) == "tag \(line.tag)")
        #expect(runtime.calls == [line.call])
    }

    @Test("a missing value or an unknown kind says what CACHE INVALIDATE needs, and calls nothing", arguments: [
        "CACHE INVALIDATE",
        "CACHE INVALIDATE TABLE",
        "CACHE INVALIDATE TAG;",
        "CACHE INVALIDATE COLUMN price",
        "CACHE INVALIDATE KEY 1",
        "CACHE INVALIDATE FINGERPRINT xyz",
        "CACHE INVALIDATE FINGERPRINT 0x",
        "CACHE INVALIDATE FINGERPRINT 1ffffffffffffffff",
    ])
    func refusedWithWhatItNeeds(_ text: String) async {
        let runtime = FakeRuntime()
        #expect(outcome(await run(text, runtime)) == "error \(Self.needs)")
        #expect(runtime.calls.isEmpty)
    }

    @Test("lines that are not the grammar are invalid commands", arguments: [
        "CACHE", "CACHE FLUSH", "CACHE CLEAR products", "CACHE INVALIDATE TABLE a b", "CACHE INVALIDATE TAG 'a' b",
    ])
    func invalid(_ text: String) async {
        let runtime = FakeRuntime()
        #expect(outcome(await run(text, runtime)) == "error invalid command '\(text)', use SHOW HELP;")
        #expect(runtime.calls.isEmpty)
    }

    @Test("a value longer than the console allows is refused as bad arguments")
    func tooLong() async {
        let runtime = FakeRuntime()
        #expect(outcome(await run("CACHE INVALIDATE TAG " + String(repeating: "x", count: 400), runtime)) == "error bad arguments")
        #expect(runtime.calls.isEmpty)
    }

    @Test("CACHE CLEAR and CACHE INVALIDATE need admin rights; SHOW CACHE does not", arguments: [
        "CACHE CLEAR", "CACHE INVALIDATE TAG x", "CACHE INVALIDATE TABLE t",
    ])
    func rights(_ text: String) async {
        let runtime = FakeRuntime()
        #expect(outcome(await run(text, runtime, rights: .stats)) == "error admin access needed")
        #expect(runtime.calls.isEmpty)
        #expect(outcome(await run("SHOW CACHE", runtime, rights: .stats)) == "table SHOW")
    }

    @Test("the operator's drops are logged")
    func logged() async {
        let runtime = FakeRuntime()
        _ = await run("CACHE CLEAR", runtime)
        _ = await run("CACHE INVALIDATE tag catalog", runtime)
        #expect(runtime.logged.all.map(\.text) == ["CACHE CLEAR from the admin console: 0 answers dropped",
                                                   "CACHE INVALIDATE TAG catalog from the admin console: 0 answers dropped"])
    }

    @Test("SHOW CACHE: a row per tier, the hit ratio, and NULL where nothing was measured yet")
    func showCache() async {
        let runtime = FakeRuntime { s in
            s.cacheTiers = [
                AdminCacheTier(tier: "l1", entries: 12, bytes: 4096, maxBytes: 1 << 20, hits: 3, misses: 1, evictions: 2, stored: 5, notKept: 1,
                               p50Milliseconds: 0.0123, p99Milliseconds: 1.5),
                AdminCacheTier(tier: "l2", maxBytes: 0),
            ]
        }
        let rows = await table("SHOW CACHE", runtime)
        #expect(rows.columns == ["tier", "entries", "bytes", "max_bytes", "hits", "misses", "hit_ratio", "evictions", "stored", "not_kept",
                                 "p50_ms", "p99_ms", "errors", "state"])
        let l1 = rows.row("tier", "l1")
        #expect(l1["entries"] == "12" && l1["bytes"] == "4096" && l1["max_bytes"] == "1048576")
        #expect(l1["hits"] == "3" && l1["misses"] == "1" && l1["evictions"] == "2" && l1["stored"] == "5" && l1["not_kept"] == "1")
        #expect(l1["hit_ratio"] == "0.750")
        #expect(l1["p50_ms"] == "0.012" && l1["p99_ms"] == "1.500")
        // No look-up yet: no ratio and no percentiles, not zeros.
        let l2 = rows.row("tier", "l2")
        #expect(l2["hit_ratio"] == .some(nil))
        #expect(l2["p50_ms"] == .some(nil) && l2["p99_ms"] == .some(nil))
        #expect(l2["hits"] == "0")
        #expect(l1["state"] == "on" && l1["errors"] == "0")
    }

    @Test("SHOW CACHE_CANDIDATES: most repeated first, ratios, the rule that would cover each")
    func candidates() async {
        let runtime = FakeRuntime { s in
            s.cacheCandidates = [
                AdminCacheCandidate(fingerprint: 0xab, sample: "SELECT 1 FROM a", tables: ["a"], reads: 10, repeats: 2, tableWrites: 0),
                AdminCacheCandidate(fingerprint: 0x1234_5678_9abc_def0, sample: "SELECT * FROM b WHERE id = 1", tables: ["b", "c"],
                                    reads: 8, repeats: 6, tableWrites: 4),
            ]
        }
        let rows = await table("SHOW CACHE_CANDIDATES", runtime)
        #expect(rows.columns == ["fingerprint", "tables", "reads", "repeats", "repeat_ratio", "table_writes", "reads_per_write", "rule", "query"])
        let b = rows.row("fingerprint", "123456789abcdef0")
        #expect(b["tables"] == "b,c" && b["repeat_ratio"] == "0.750" && b["reads_per_write"] == "2.0")
        #expect(b["rule"] == "fingerprint.123456789abcdef0 = 60s")
        let a = rows.row("fingerprint", "00000000000000ab")
        #expect(a["reads_per_write"] == .some(nil) && a["repeat_ratio"] == "0.200")
    }

    @Test("SHOW CACHE with every look-up a miss says 0.000, not NULL")
    func allMisses() async {
        let runtime = FakeRuntime { $0.cacheTiers = [AdminCacheTier(tier: "l1", misses: 4)] }
        #expect(await table("SHOW CACHE", runtime).row("tier", "l1")["hit_ratio"] == "0.000")
    }

    @Test("SHOW HELP lists the cache commands")
    func help() async {
        guard case .notice(_, let detail?, _) = await run("SHOW HELP", FakeRuntime()) else {
            Issue.record("SHOW HELP is not a notice with a detail")
            return
        }
        let lines = detail.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(lines.contains("SHOW SLA|TUNING|NODES|CACHE|CACHE_CANDIDATES"))
        #expect(lines.contains("CACHE CLEAR"))
        #expect(lines.contains("CACHE INVALIDATE TABLE|TAG|FINGERPRINT|PATTERN <value>"))
    }
}
