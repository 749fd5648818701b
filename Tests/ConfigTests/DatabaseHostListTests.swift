// Host lists in [databases] entries: PgBouncer's comma-separated hosts and load_balance_hosts, pgswift's port and
// weight lists, and the errors that name the entry's file, line and key.
import Testing

@testable import Config

@Suite("Database host lists")
struct DatabaseHostListTests {
    func load(_ entry: String) throws -> DatabaseEntry? {
        let dir = try TempDir()
        let path = try dir.write("c.ini", "[databases]\n\(entry)\n[pgswift]\nauth_type = trust\n")
        return try loadValid(path).databases["appdb"]
    }

    func errors(_ entry: String) throws -> [ConfigError] {
        let dir = try TempDir()
        return loadErrors(try dir.write("c.ini", "[databases]\n\(entry)\n[pgswift]\nauth_type = trust\n"))
    }

    @Test func oneHostIsAListOfOne() throws {
        let e = try #require(try load("appdb = host=db1 port=5433"))
        #expect(e.hosts == ["db1"] && e.ports == [5433] && e.port == 5433)
        #expect(e.addresses(defaultHost: "x").map { "\($0.host):\($0.port)" } == ["db1:5433"])
    }

    @Test func noHostUsesTheDefault() throws {
        let e = try #require(try load("appdb = dbname=app"))
        #expect(e.hosts.isEmpty && e.addresses(defaultHost: "/run/postgresql").map { "\($0.host):\($0.port)" } == ["/run/postgresql:5432"])
    }

    @Test func aListSharesOnePortOrHasOneEach() throws {
        let shared = try #require(try load("appdb = host='db1, db2,db3' port=6000"))
        #expect(shared.hosts == ["db1", "db2", "db3"])
        #expect(shared.addresses(defaultHost: "x").map { "\($0.host):\($0.port)" } == ["db1:6000", "db2:6000", "db3:6000"])
        let each = try #require(try load("appdb = host=db1,db2 port=6000,6001 weight=3,1 load_balance_hosts=disable"))
        #expect(each.addresses(defaultHost: "x").map { "\($0.host):\($0.port)" } == ["db1:6000", "db2:6001"])
        #expect(each.weights == [3, 1] && each.loadBalanceHosts == "disable")
        // SHOW DATABASES shows the host as written.
        #expect(each.host == "db1,db2")
    }

    @Test(arguments: [
        ("appdb = host=db1,,db2", "appdb.host", "empty host"),
        ("appdb = host=db1,db2 port=1,2,3", "appdb.port", "3 ports for 2 hosts"),
        ("appdb = host=db1 port=5432,x", "appdb.port", "invalid port"),
        ("appdb = host=db1,db2 weight=1", "appdb.weight", "1 weights for 2 hosts"),
        ("appdb = host=db1,db2 weight=0,0", "appdb.weight", "at least one host needs a weight above 0"),
        ("appdb = host=db1,db2 weight=1,-1", "appdb.weight", "invalid weight"),
        ("appdb = host=db1,db2 load_balance_hosts=random", "appdb.load_balance_hosts", "expected one of: round-robin, disable"),
    ])
    func refused(_ entry: String, _ key: String, _ message: String) throws {
        let found = try errors(entry)
        #expect(found.count == 1)
        #expect(found.first?.key == key && found.first?.line == 2)
        #expect(found.first?.message.contains(message) == true, "\(found.first?.message ?? "")")
    }
}
