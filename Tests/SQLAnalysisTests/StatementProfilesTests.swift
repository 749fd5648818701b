// StatementProfiles: the parser runs once per shape; settings and texts of uncertain shape are never reused; the
// cache stays within its bounds and keeps the shapes in use.
@testable import SQLAnalysis
import Testing

@Suite("Statement profiles by shape")
struct StatementProfilesTests {
    @Test func aShapeIsParsedOnceWhateverItsLiterals() {
        var cache = StatementProfiles()
        for aid in 1...50 {
            let (p, hints) = cache.profile("SELECT abalance FROM pgbench_accounts WHERE aid = \(aid)")
            #expect(p.primaryReason == nil && p.relations.map(\.description) == ["pgbench_accounts"] && hints.isEmpty)
        }
        #expect(cache.misses == 1 && cache.hits == 49)
        // The hints come from each text, not from the one first parsed.
        #expect(cache.profile("SELECT abalance FROM pgbench_accounts /* pgswift: primary */ WHERE aid = 3").hints == ["primary"])
        #expect(cache.misses == 1)
    }

    /// The session scan reuses the keyword answers a profile kept for its shape: they must be what a scan of each text
    /// of that shape finds, whatever its literals and comments hold.
    @Test(arguments: [
        ["SELECT 'set_config' FROM t WHERE x = 1", "SELECT 'plain' FROM t WHERE x = 2", "SELECT /* temp */ 'x' FROM t WHERE x = 3"],
        ["SELECT set_config('a.b', '1', false)", "SELECT set_config('c.d', '2', false)"],
        ["CREATE TABLE t1 (a int DEFAULT 1)", "CREATE TABLE t1 (a int DEFAULT 2)"],
        ["SELECT pg_advisory_lock(1)", "SELECT pg_advisory_lock(2)"],
        ["UPDATE t SET x = 1 WHERE id = 5", "UPDATE t SET x = 2 WHERE id = 6"],
    ])
    func keptSessionWordsAreEachTextsOwn(_ texts: [String]) {
        var cache = StatementProfiles()
        for text in texts {
            let kept = cache.profile(text).profile.sessionWords
            var s = text
            let fresh = s.withUTF8 { SessionStateScan.words(UnsafeRawBufferPointer($0)) }
            #expect(kept == fresh, "\(text)")
        }
    }

    @Test func aPreparedStatementIsProfiledOnceByItsID() {
        var cache = StatementProfiles()
        // A setting's text is never kept by shape, but by id it is one exact text.
        let text = "SET default_transaction_read_only = on"
        for _ in 1...3 {
            var s = text
            let p = s.withUTF8 { cache.profile(id: 7, UnsafeRawBufferPointer($0)) }.profile
            #expect(p.transaction == .sessionDefault(readOnly: true))
        }
        #expect(cache.misses == 1 && cache.hits == 2)
    }

    @Test func keptSessionWordsComeFromTheShapeNotTheFirstText() {
        // The word scan does not know E'' escapes: read from this text, it would lose the string's end and miss the
        // advisory lock, and every text of the shape would be told the same.
        var cache = StatementProfiles()
        let first = cache.profile("SELECT E'it\\'s', pg_advisory_lock(1)").profile.sessionWords
        let later = cache.profile("SELECT E'x', pg_advisory_lock(1)").profile.sessionWords
        #expect(first?.mayChangeSession == true && later?.mayChangeSession == true)
    }

    @Test func aWriteNeverTakesAReadsProfile() {
        var cache = StatementProfiles()
        _ = cache.profile("SELECT lower('s')")
        #expect(cache.profile("SELECT nextval('s')").profile.primaryReason == .sequence)
        #expect(cache.misses == 2)
    }

    @Test func settingsAreParsedEveryTimeAsTheirValuesMatter() {
        var cache = StatementProfiles()
        #expect(cache.profile("SET default_transaction_read_only = on").profile.transaction == .sessionDefault(readOnly: true))
        #expect(cache.profile("SET default_transaction_read_only = off").profile.transaction == .sessionDefault(readOnly: false))
        #expect(cache.misses == 2 && cache.count == 0)
    }

    @Test func aTextOfUncertainShapeIsNotKept() {
        var cache = StatementProfiles()
        _ = cache.profile("SELECT 'a\\', nextval('s')")
        #expect(cache.count == 0)
    }

    @Test func theCacheStaysWithinItsCapacityAndKeepsWhatIsInUse() {
        var cache = StatementProfiles(capacity: 10)
        for k in 0..<100 {
            _ = cache.profile("SELECT c\(k) FROM t")
            // One shape used all along stays known.
            _ = cache.profile("SELECT hot FROM t WHERE a = \(k)")
        }
        #expect(cache.count <= 10)
        let misses = cache.misses
        _ = cache.profile("SELECT hot FROM t WHERE a = 1000")
        #expect(cache.misses == misses)
    }
}
