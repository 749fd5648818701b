// [databases] and [users] entries: connection-string parsing, quoting, the * fallback, and per-entry errors.
import Foundation
import Testing

@testable import Config

@Suite("ConfigLoader: [databases] and [users]")
struct ConfigSectionsTests {
    static let general = "[pgbouncer]\nauth_type = trust\n"

    @Test("a [databases] entry with every typed key")
    func fullDatabaseEntry() throws {
        let dir = try TempDir()
        let path = try dir.write("db.ini", Self.general + """
            [databases]
            appdb = host=10.0.0.5 port=6543 dbname=app user=svc password=pw pool_size=10 min_pool_size=2 reserve_pool=3 max_db_connections=50 pool_mode=Statement connect_query=SELECT1 application_name=myapp client_encoding=UTF8 datestyle=ISO timezone=UTC auth_user=authu auth_query=q
            """)
        let c = try loadValid(path)
        let db = try #require(c.databases["appdb"])
        #expect(db.name == "appdb")
        #expect(db.host == "10.0.0.5")
        #expect(db.port == 6543)
        #expect(db.dbname == "app")
        #expect(db.user == "svc")
        #expect(db.password == "pw")
        #expect(db.poolSize == 10)
        #expect(db.minPoolSize == 2)
        #expect(db.reservePoolSize == 3)
        #expect(db.maxDBConnections == 50)
        #expect(db.poolMode == "statement")
        #expect(db.connectQuery == "SELECT1")
        #expect(db.authUser == "authu")
        #expect(db.authQuery == "q")
        #expect(db.startupParameters == ["application_name": "myapp", "client_encoding": "UTF8", "datestyle": "ISO", "timezone": "UTC"])
        #expect(db.source == .file(path, line: 4))
    }

    @Test("quoted connection-string values keep spaces, doubled and escaped quotes")
    func quotedValues() throws {
        let dir = try TempDir()
        let path = try dir.write("q.ini", Self.general + """
            [databases]
            spaced = host = 'db host'  dbname='it''s'   password='p\\'w d'
            query = host=h connect_query='SET search_path = app, public'
            empty = host=h password=''
            UPPER = HOST=h DBNAME=x
            """)
        let c = try loadValid(path)
        let spaced = try #require(c.databases["spaced"])
        #expect(spaced.host == "db host")
        #expect(spaced.dbname == "it's")
        #expect(spaced.password == "p'w d")
        #expect(c.databases["query"]?.connectQuery == "SET search_path = app, public")
        #expect(c.databases["empty"]?.password == "")
        // Parameter names are case-insensitive; the database name keeps its case.
        #expect(c.databases["UPPER"]?.host == "h")
        #expect(c.databases["UPPER"]?.dbname == "x")
    }

    @Test("a database name in double quotes is unquoted, with \"\" standing for a quote")
    func quotedDatabaseName() throws {
        let dir = try TempDir()
        let path = try dir.write("n.ini", Self.general + """
            [databases]
            "my-db" = host=h1
            "odd""name" = host=h2
            """)
        let c = try loadValid(path)
        #expect(c.databases.keys.sorted() == ["my-db", "odd\"name"])
        #expect(c.database(named: "my-db")?.host == "h1")
        #expect(c.database(named: "odd\"name")?.host == "h2")
    }

    @Test("database(named:) falls back to *, filling in the requested name")
    func starFallback() throws {
        let dir = try TempDir()
        let path = try dir.write("f.ini", Self.general + """
            [databases]
            appdb = host=primary dbname=app
            * = host=fallback port=6000
            """)
        let c = try loadValid(path)

        let listed = try #require(c.database(named: "appdb"))
        #expect(listed.name == "appdb")
        #expect(listed.host == "primary")
        #expect(listed.dbname == "app")

        let other = try #require(c.database(named: "reports"))
        #expect(other.name == "reports")
        #expect(other.dbname == "reports")
        #expect(other.host == "fallback")
        #expect(other.port == 6000)
        // The stored * entry itself is unchanged.
        #expect(c.databases["*"]?.dbname == nil)
        #expect(c.databases["*"]?.name == "*")

        // A * entry with its own dbname keeps it.
        let fixed = try dir.write("g.ini", Self.general + "[databases]\n* = host=h dbname=shared\n")
        #expect(try loadValid(fixed).database(named: "anything")?.dbname == "shared")

        // Without a * entry, an unlisted name has no entry.
        let none = try dir.write("h.ini", Self.general + "[databases]\nappdb = host=h\n")
        #expect(try loadValid(none).database(named: "reports") == nil)
    }

    @Test("keys PgBouncer accepts in [databases] but pgswift does not type are still accepted")
    func compatibilityDatabaseKeys() throws {
        let dir = try TempDir()
        let path = try dir.write("c.ini", Self.general + """
            [databases]
            appdb = host=h auth_dbname=other load_balance_hosts=disable server_lifetime=60 max_db_client_connections=5
            """)
        let c = try loadValid(path)
        #expect(c.databases["appdb"]?.host == "h")
    }

    struct BadEntry: Sendable, CustomTestStringConvertible {
        var line: String
        var key: String
        var message: String
        var testDescription: String { line }
    }

    static let badDatabaseEntries: [BadEntry] = [
        BadEntry(line: "appdb = host=h port=0", key: "appdb.port", message: "invalid port \"0\""),
        BadEntry(line: "appdb = host=h port=65536", key: "appdb.port", message: "invalid port \"65536\""),
        BadEntry(line: "appdb = host=h port=pg", key: "appdb.port", message: "invalid port \"pg\""),
        BadEntry(line: "appdb = host=h colour=blue", key: "appdb.colour", message: "unknown database parameter"),
        BadEntry(line: "appdb = host=h pool_size=-1", key: "appdb.pool_size", message: "invalid integer \"-1\""),
        BadEntry(line: "appdb = host=h min_pool_size=x", key: "appdb.min_pool_size", message: "invalid integer \"x\""),
        BadEntry(line: "appdb = host=h pool_mode=sometimes", key: "appdb.pool_mode",
                 message: "invalid value \"sometimes\" (expected one of: session, transaction, statement)"),
        BadEntry(line: "appdb = host='unterminated", key: "appdb", message: "unterminated quoted value for host"),
        BadEntry(line: "appdb = host", key: "appdb", message: "expected '=' after host"),
    ]

    @Test("a bad [databases] entry names dbname.param", arguments: badDatabaseEntries)
    func badDatabaseEntry(_ bad: BadEntry) throws {
        let dir = try TempDir()
        let path = try dir.write("bad.ini", Self.general + "[databases]\n\(bad.line)\n")
        let errors = loadErrors(path)
        #expect(errors == [ConfigError(file: path, line: 4, key: bad.key, message: bad.message)])
        #expect(errors.first?.description == "\(path):4: \(bad.key): \(bad.message)")
    }

    @Test("[users] entries with their typed keys")
    func users() throws {
        let dir = try TempDir()
        let path = try dir.write("u.ini", Self.general + """
            [users]
            alice = pool_mode=Transaction pool_size=5 reserve_pool_size=1 max_user_connections=9
            bob = pool_size=0
            carol = query_timeout=5 client_idle_timeout=10 max_user_client_connections=3
            """)
        let c = try loadValid(path)
        let alice = try #require(c.users["alice"])
        #expect(alice.name == "alice")
        #expect(alice.poolMode == "transaction")
        #expect(alice.poolSize == 5)
        #expect(alice.reservePoolSize == 1)
        #expect(alice.maxUserConnections == 9)
        #expect(alice.source == .file(path, line: 4))
        #expect(c.users["bob"]?.poolSize == 0)
        #expect(c.users["bob"]?.poolMode == nil)
        #expect(c.users["carol"] != nil)
    }

    static let badUserEntries: [BadEntry] = [
        BadEntry(line: "bob = pool_size=-1", key: "bob.pool_size", message: "invalid integer \"-1\""),
        BadEntry(line: "bob = max_user_connections=many", key: "bob.max_user_connections", message: "invalid integer \"many\""),
        BadEntry(line: "bob = colour=red", key: "bob.colour", message: "unknown user parameter"),
        BadEntry(line: "bob = host=h", key: "bob.host", message: "unknown user parameter"),
        BadEntry(line: "bob = pool_mode=sometimes", key: "bob.pool_mode",
                 message: "invalid value \"sometimes\" (expected one of: session, transaction, statement)"),
    ]

    @Test("a bad [users] entry names user.param", arguments: badUserEntries)
    func badUserEntry(_ bad: BadEntry) throws {
        let dir = try TempDir()
        let path = try dir.write("bad.ini", Self.general + "[users]\n\(bad.line)\n")
        let errors = loadErrors(path)
        #expect(errors == [ConfigError(file: path, line: 4, key: bad.key, message: bad.message)])
    }
}
