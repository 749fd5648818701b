// TableVersions: what each kind of write moves (a table, a database's epoch, a table everywhere), and what it leaves.
import ResultCache
import Testing

@Suite("Table versions")
struct TableVersionsTests {
    @Test func aTableNeverWrittenIsAtZero() {
        let v = TableVersions()
        #expect(v.stamp(database: "app", tables: ["t", "u"]) == VersionStamp(epoch: 0, versions: [0, 0]))
        #expect(v.stamp(database: "app", tables: []) == VersionStamp(epoch: 0, versions: []))
        #expect(v.bumps == 0)
    }

    @Test func aWriteMovesItsTablesInItsDatabaseOnly() {
        var v = TableVersions()
        let before = v.stamp(database: "app", tables: ["t", "u"])
        let otherBefore = v.stamp(database: "other", tables: ["t", "u"])
        v.wrote(database: "app", tables: ["t"])
        let after = v.stamp(database: "app", tables: ["t", "u"])
        #expect(after != before)
        #expect(after.versions[1] == before.versions[1], "u was not written")
        #expect(after.epoch == before.epoch)
        #expect(v.stamp(database: "other", tables: ["t", "u"]) == otherBefore)
        // Each write moves it again: a stamp taken between two writes differs from both sides.
        v.wrote(database: "app", tables: ["t"])
        let again = v.stamp(database: "app", tables: ["t", "u"])
        #expect(again != after && again != before)
        #expect(v.bumps == 2)
    }

    @Test func theOrderAskedIsTheOrderGiven() {
        var v = TableVersions()
        v.wrote(database: "app", tables: ["t"])
        #expect(v.stamp(database: "app", tables: ["t", "u"]).versions == [1, 0])
        #expect(v.stamp(database: "app", tables: ["u", "t"]).versions == [0, 1])
    }

    @Test func aWriteOfUnknownTablesMovesEveryStampOfItsDatabase() {
        var v = TableVersions()
        v.wrote(database: "app", tables: ["t"])
        let t = v.stamp(database: "app", tables: ["t"]), none = v.stamp(database: "app", tables: [])
        let other = v.stamp(database: "other", tables: ["t"])
        v.wroteAnything(database: "app")
        #expect(v.stamp(database: "app", tables: ["t"]) != t)
        // Even a read of no table (SELECT 1 with a comment) may read what a function wrote.
        #expect(v.stamp(database: "app", tables: []) != none)
        #expect(v.stamp(database: "other", tables: ["t"]) == other)
        #expect(v.bumps == 2)
    }

    @Test func anOperatorsTableInvalidationMovesItInEveryDatabaseThatHasVersions() {
        var v = TableVersions()
        v.wrote(database: "a", tables: ["x"])
        v.wroteAnything(database: "b")
        let a = v.stamp(database: "a", tables: ["t", "x"]), b = v.stamp(database: "b", tables: ["t", "x"])
        v.wroteEverywhere(table: "t")
        let a2 = v.stamp(database: "a", tables: ["t", "x"]), b2 = v.stamp(database: "b", tables: ["t", "x"])
        #expect(a2.versions[0] != a.versions[0] && a2.versions[1] == a.versions[1])
        #expect(b2.versions[0] != b.versions[0] && b2.versions[1] == b.versions[1])
        #expect(v.bumps == 3)
    }

    /// CACHE INVALIDATE TABLE t moves t where some write was seen; in a database where none was (the usual case for
    /// data written by something else, which is why an operator invalidates), t's stamp stays the same. A read looked
    /// up before the invalidation and answered after it then finds its stamp unchanged and is kept, pre-invalidation
    /// rows and all, under the key every later read uses.
    @Test func anOperatorsTableInvalidationMovesItInADatabaseNeverWritten() {
        var v = TableVersions()
        let before = v.stamp(database: "readonly", tables: ["t"])
        v.wroteEverywhere(table: "t")
        #expect(v.stamp(database: "readonly", tables: ["t"]) != before)
    }

    @Test func namesAreBareAndExact() {
        var v = TableVersions()
        v.wrote(database: "app", tables: ["orders"])
        // A write to s1.orders moves what s2.orders reads: the caller passes bare names, and they are one.
        #expect(v.stamp(database: "app", tables: ["orders"]).versions == [1])
        #expect(v.stamp(database: "app", tables: ["Orders", "order"]).versions == [0, 0])
    }
}
