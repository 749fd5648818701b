// The pure pieces of the shared tiers and the catalog: breaker steps, stored values, invalidation messages,
// the catalog map's closure, and what cache = auto counts.
import NIOCore
import SQLAnalysis
import Testing
@testable import ResultCache

@Suite("Tier breaker")
struct TierBreakerTests {
    @Test("opens after the threshold, refuses while open, lets one probe through, doubles its pause on a failed probe")
    func steps() {
        var b = TierBreaker(threshold: 3, firstPause: 1, maxPause: 4)
        let closed = b.allow(now: 0)
        #expect(closed)
        b.failed(now: 0)
        b.failed(now: 0)
        #expect(b.state == .closed)
        b.failed(now: 0)
        #expect(b.state == .open(until: 1))
        let early = b.allow(now: 0.5)
        #expect(!early)
        let probe = b.allow(now: 1)
        #expect(probe && b.state == .halfOpen)
        let second = b.allow(now: 1)
        #expect(!second, "only one probe while half-open")
        b.failed(now: 1)
        #expect(b.state == .open(until: 3))
        _ = b.allow(now: 3)
        b.failed(now: 3)
        #expect(b.state == .open(until: 7))
        _ = b.allow(now: 7)
        b.failed(now: 7)
        #expect(b.state == .open(until: 11), "capped at maxPause")
        _ = b.allow(now: 11)
        b.succeeded()
        #expect(b.state == .closed && b.failuresInARow == 0 && b.openings == 4)
    }

    @Test("a success resets the count of failures in a row")
    func successResets() {
        var b = TierBreaker(threshold: 2)
        b.failed(now: 0)
        b.succeeded()
        b.failed(now: 0)
        #expect(b.state == .closed)
    }
}

@Suite("Tier entries and invalidation messages")
struct TierEntryTests {
    @Test("a value is used only for the key it was stored under")
    func roundTrip() {
        let material: [UInt8] = [1, 2, 3, 0, 255]
        let answer = ByteBuffer(bytes: [0x5A, 0, 0, 0, 5, 0x49])
        let value = TierEntry.encode(material: material, answer: answer)
        #expect(TierEntry.decode(value, material: material) == answer)
        #expect(TierEntry.decode(value, material: [1, 2, 3, 0, 254]) == nil)
        #expect(TierEntry.decode(value, material: [1, 2, 3, 0]) == nil)
        #expect(TierEntry.decode(ByteBuffer(string: "PGSW1"), material: material) == nil)
        var truncated = value
        truncated.moveWriterIndex(to: truncated.writerIndex - answer.readableBytes)
        #expect(TierEntry.decode(truncated, material: material) == nil, "no answer left: not a value")
        #expect(TierEntry.decode(ByteBuffer(string: "some other program's value"), material: material) == nil)
    }

    @Test("messages round trip, `*` is every table, and malformed payloads are refused")
    func messages() {
        let m = InvalidationMessage(instance: "ab12", scope: "127.0.0.1:5432/app", table: "orders")
        #expect(InvalidationMessage(m.encoded) == m)
        let all = InvalidationMessage(instance: "ab12", scope: "h:1/db", table: nil)
        #expect(InvalidationMessage(all.encoded) == all)
        for bad in ["", "a\u{1F}b", "\u{1F}s\u{1F}t", "a\u{1F}\u{1F}t", "a\u{1F}b\u{1F}c\u{1F}d"] {
            #expect(InvalidationMessage(ByteBuffer(string: bad)) == nil, "\(bad.debugDescription)")
        }
    }
}

@Suite("Catalog map")
struct CatalogMapTests {
    static let text = [
        "i\u{1F}orders_eu\u{1F}orders", "v\u{1F}items\u{1F}items_v", "v\u{1F}items_v\u{1F}items_vv",
        "f\u{1F}parent\u{1F}child", "t\u{1F}src\u{1F}", "r\u{1F}ruled\u{1F}", "V\u{1F}audit\u{1F}", "S\u{1F}price_of\u{1F}",
        "u\u{1F}scratch\u{1F}", "bogus", "x\u{1F}a\u{1F}b",
    ].joined(separator: "\u{1E}")

    @Test("writes reach partitions both ways, views over views, cascades one way; triggers and rules reach anything")
    func closure() {
        let map = CatalogMap(parsing: Self.text)
        #expect(Set(map.closure(of: ["orders_eu"]) ?? []) == ["orders_eu", "orders"])
        #expect(Set(map.closure(of: ["orders"]) ?? []) == ["orders", "orders_eu"])
        #expect(Set(map.closure(of: ["items"]) ?? []) == ["items", "items_v", "items_vv"])
        #expect(Set(map.closure(of: ["parent"]) ?? []) == ["parent", "child"])
        #expect(map.closure(of: ["child"]) == ["child"])
        #expect(map.closure(of: ["src"]) == nil)
        #expect(map.closure(of: ["plain", "ruled"]) == nil)
        #expect(map.volatile == ["audit"] && map.stable == ["price_of"] && map.nonPermanent == ["scratch"])
        #expect(CatalogMap(parsing: "") == CatalogMap())
    }
}

@Suite("Cache candidates")
struct CacheCandidatesTests {
    @Test("reads and repeats per fingerprint, writes per table, bounded, merged across loops")
    func counts() {
        var c = CacheCandidates(limit: 2)
        c.read(fingerprint: 1, key: 10, tables: ["a"], sample: "SELECT 1")
        c.read(fingerprint: 1, key: 10, tables: ["a"], sample: "SELECT 1")
        c.read(fingerprint: 1, key: 11, tables: ["a"], sample: "SELECT 1")
        c.read(fingerprint: 2, key: 20, tables: ["b"], sample: "SELECT 2")
        c.wrote(["a", "a", "b"])
        #expect(c.entries[1]?.reads == 3 && c.entries[1]?.repeats == 1)
        #expect(c.writes == ["a": 2, "b": 1])
        // Past the limit the least read fingerprint gives way.
        c.read(fingerprint: 3, key: 30, tables: ["c"], sample: "SELECT 3")
        #expect(Set(c.entries.keys) == [1, 3])
        var other = CacheCandidates()
        other.read(fingerprint: 1, key: 10, tables: ["a"], sample: "SELECT 1")
        other.wrote(["a"])
        c.merge(other)
        #expect(c.entries[1]?.reads == 4 && c.writes["a"] == 3)
    }
}

@Suite("Review fixes: what writes and what is a query")
struct CacheReviewFixTests {
    @Test("several statements with a reason that is no write alone still move every table they name")
    func severalStatements() {
        for sql in ["LOCK TABLE acct IN SHARE ROW EXCLUSIVE MODE; UPDATE acct SET n = 1",
                    "SELECT pg_advisory_xact_lock(1); DELETE FROM acct", "SELECT nextval('s'); INSERT INTO acct VALUES (1)"] {
            let effect = CacheWrites.effect(of: StatementProfiler.profile(sql), volatile: [])
            #expect(effect == .tables(["acct"]), "\(sql)")
        }
        #expect(CacheWrites.effect(of: StatementProfiler.profile("LOCK TABLE acct"), volatile: []) == .none)
    }

    @Test("only queries are kept: cursors, COPY, EXPLAIN and SHOW are not")
    func onlyQueries() {
        for sql in ["DECLARE c CURSOR WITH HOLD FOR SELECT * FROM t", "COPY (SELECT * FROM t) TO STDOUT", "EXPLAIN SELECT * FROM t",
                    "SHOW search_path"] {
            #expect(Cacheability.verdict(StatementProfiler.profile(sql)) == .notAQuery, "\(sql)")
        }
        for sql in ["SELECT * FROM t", "VALUES (1)", "TABLE t", "WITH x AS (SELECT 1) SELECT * FROM x, t"] {
            #expect(Cacheability.verdict(StatementProfiler.profile(sql)) == nil, "\(sql)")
        }
    }

    @Test("a write through a view reaches its table; a view with its own rules reaches anything")
    func viewsBothWays() {
        let map = CatalogMap(parsing: ["v\u{1F}items\u{1F}items_v", "r\u{1F}ruled_v\u{1F}"].joined(separator: "\u{1E}"))
        #expect(Set(map.closure(of: ["items_v"]) ?? []) == ["items_v", "items"])
        #expect(map.closure(of: ["ruled_v"]) == nil)
    }
}
