// CacheHint: which `/* pgswift: ... */` comment speaks for the cache, its ttl in every unit, its tags, and what is ignored.
import ResultCache
import SQLAnalysis
import Testing

@Suite("Cache hints")
struct CacheHintTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var hints: [String]
        var found: CacheHint?
        var testDescription: String { hints.map { "/* \($0) */" }.joined(separator: " ") }
    }

    static let cases: [Case] = [
        Case(hints: [], found: nil),
        Case(hints: ["cache"], found: .cache(ttl: nil, tags: [])),
        Case(hints: ["CACHE"], found: .cache(ttl: nil, tags: [])),
        Case(hints: ["cache ttl=30s tags=a,b"], found: .cache(ttl: 30, tags: ["a", "b"])),
        // Every unit, and a bare number as seconds.
        Case(hints: ["cache ttl=30"], found: .cache(ttl: 30, tags: [])),
        Case(hints: ["cache ttl=30s"], found: .cache(ttl: 30, tags: [])),
        Case(hints: ["cache ttl=500ms"], found: .cache(ttl: 0.5, tags: [])),
        Case(hints: ["cache ttl=5m"], found: .cache(ttl: 300, tags: [])),
        Case(hints: ["cache ttl=2h"], found: .cache(ttl: 7200, tags: [])),
        Case(hints: ["cache ttl=1.5s"], found: .cache(ttl: 1.5, tags: [])),
        Case(hints: ["cache  \tttl=10s\ntag=x"], found: .cache(ttl: 10, tags: ["x"])),
        // A malformed ttl makes no hint at all: the read is as if uncommented.
        Case(hints: ["cache ttl=0"], found: nil),
        Case(hints: ["cache ttl=0s"], found: nil),
        Case(hints: ["cache ttl=-5s"], found: nil),
        Case(hints: ["cache ttl=soon"], found: nil),
        Case(hints: ["cache ttl=10x"], found: nil),
        Case(hints: ["cache ttl=s"], found: nil),
        Case(hints: ["cache ttl="], found: nil),
        Case(hints: ["cache ttl=10 s"], found: .cache(ttl: 10, tags: [])),
        // Tags: several words add up; empty pieces are dropped.
        Case(hints: ["cache tags=a tags=b,c"], found: .cache(ttl: nil, tags: ["a", "b", "c"])),
        Case(hints: ["cache tags=a,,b,"], found: .cache(ttl: nil, tags: ["a", "b"])),
        Case(hints: ["cache tags="], found: .cache(ttl: nil, tags: [])),
        // No cache, in each spelling; it wins only when it comes last.
        Case(hints: ["no cache"], found: .noCache),
        Case(hints: ["No Cache"], found: .noCache),
        Case(hints: ["nocache"], found: .noCache),
        Case(hints: ["no_cache"], found: .noCache),
        Case(hints: ["no"], found: nil),
        Case(hints: ["no caching"], found: nil),
        Case(hints: ["cache ttl=30s", "no cache"], found: .noCache),
        Case(hints: ["no cache", "cache ttl=30s"], found: .cache(ttl: 30, tags: [])),
        Case(hints: ["cache ttl=30s", "cache ttl=5s tags=z"], found: .cache(ttl: 5, tags: ["z"])),
        // A malformed last one is no hint: the one before it stands.
        Case(hints: ["cache ttl=30s", "cache ttl=never"], found: .cache(ttl: 30, tags: [])),
        // Hints for others (routing) are not the cache's, and do not hide one that is.
        Case(hints: ["role=replica"], found: nil),
        Case(hints: ["cache ttl=30s", "role=replica"], found: .cache(ttl: 30, tags: [])),
        Case(hints: ["cacheable"], found: nil),
        Case(hints: [""], found: nil),
    ]

    @Test(arguments: cases)
    func find(_ c: Case) {
        #expect(CacheHint.find(in: c.hints) == c.found)
    }

    @Test func hintsComeFromTheStatementsComments() {
        let shape = QueryShape("/* pgswift: cache ttl=5m tags=catalog */ SELECT * FROM products /* pgswift: role=replica */ WHERE id = 1")
        #expect(CacheHint.find(in: shape.hints) == .cache(ttl: 300, tags: ["catalog"]))
        let refused = QueryShape("SELECT * FROM products /*pgswift:cache*/ -- pgswift: no cache\n /* PGSWIFT: no cache */")
        #expect(CacheHint.find(in: refused.hints) == .noCache)
        // A comment without the marker is a comment.
        #expect(CacheHint.find(in: QueryShape("/* cache ttl=5m */ SELECT 1").hints) == nil)
    }

    /// A time that never ends is not a time: `Double("inf")` parses, and would keep an answer forever (and trap where a
    /// tier turns the ttl into whole milliseconds).
    @Test(arguments: ["inf", "infinity", "infs", "1e400s", "nan"])
    func aTtlThatIsNotAFiniteTimeIsMalformed(_ ttl: String) {
        #expect(CacheHint.find(in: ["cache ttl=\(ttl)"]) == nil)
    }
}
