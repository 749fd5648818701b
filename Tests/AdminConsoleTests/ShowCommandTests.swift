// The SHOW commands against a runtime made of values: counts by state, the console's own rows, ordering and NULLs.
import AdminConsole
import Config
import Foundation
import NIOCore
import PoolCore
import Testing

@Suite("SHOW commands")
struct ShowCommandTests {
    // Each state's count differs from its neighbours', so a column showing the wrong state is caught.
    @Test("SHOW POOLS counts each pool's connections by state, after the console's own row")
    func pools() async {
        let runtime = FakeRuntime { s in
            s.pools = [AdminPool(name: otherForced, mode: "session"), AdminPool(name: appAlice, mode: "transaction")]
            s.clients = [
                .client(1, appAlice, .active), .client(2, appAlice, .active), .client(3, appAlice, .idle),
                .client(4, appAlice, .waiting, wait: 0.5), .client(5, appAlice, .waiting, wait: 1.25),
                .client(6, nil, .login, database: "appdb"), .client(7, nil, .idle, database: "pgbouncer", user: "admin"),
                .client(8, nil, .idle, database: "pgswift", user: "admin"),
            ]
            let states: [ConnectionState] = [.active, .beingCanceled, .beingCanceled, .beingCanceled, .beingCanceled, .idle, .idle, .idle,
                                             .tested, .tested, .new]
            s.serverSnapshots = [states.enumerated().map { .server(10 + $0, appAlice, $1, cancelling: $0 == 0) }
                                 + [.server(30, appAlice, .active)]]
        }
        let t = await table("SHOW POOLS", runtime)
        #expect(t.rows.map { $0["database"] } == ["pgbouncer", "appdb", "otherdb"])
        let console = t.row("database", "pgbouncer")
        #expect(console["cl_active"] == "2")
        #expect(console["pool_mode"] == "statement")
        let app = t.row("database", "appdb")
        let expected: [String: String?] = [
            "user": "alice", "cl_active": "3", "cl_waiting": "2", "sv_active": "2", "sv_active_cancel": "1", "sv_being_canceled": "4",
            "sv_idle": "3", "sv_used": "0", "sv_tested": "2", "sv_login": "1", "maxwait": "1", "maxwait_us": "250000", "pool_mode": "transaction",
            "load_balance_hosts": nil,
        ]
        for (column, value) in expected { #expect(app[column] == value, "\(column)") }
        let other = t.row("database", "otherdb")
        #expect(other["cl_active"] == "0" && other["sv_idle"] == "0" && other["maxwait"] == "0")
    }

    @Test("SHOW CLIENTS: one row per client by id, addresses, wait split into seconds and microseconds, link handles")
    func clients() async throws {
        var tcp = AdminConnection.client(31, appAlice, .waiting, wait: 2.5)
        tcp.remote = try SocketAddress(ipAddress: "192.0.2.7", port: 51000)
        tcp.local = try SocketAddress(ipAddress: "127.0.0.1", port: 6432)
        tcp.link = 300
        tcp.connectedAt = Date(timeIntervalSince1970: 86_400 + 3_661)
        tcp.pinned = "LISTEN"
        let anonymous = AdminConnection.client(2, nil, .login)
        let runtime = FakeRuntime { $0.clients = [tcp, anonymous] }
        let t = await table("SHOW CLIENTS", runtime)
        #expect(t.rows.map { $0["id"] } == ["2", "31"])
        let row = t.row("id", "31")
        let expected: [String: String?] = [
            "type": "C", "user": "alice", "database": "appdb", "state": "waiting", "addr": "192.0.2.7", "port": "51000",
            "local_addr": "127.0.0.1", "local_port": "6432", "connect_time": "1970-01-02 01:01:01 UTC", "wait": "2",
            "wait_us": "500000", "ptr": "0x1f", "link": "0x12c", "pinned": "LISTEN", "close_needed": "0",
        ]
        for (column, value) in expected { #expect(row[column] == value, "\(column)") }
        let unknown = t.row("id", "2")
        #expect(unknown["user"] == "(nouser)" && unknown["database"] == "(nodb)")
        #expect(unknown["addr"] == "unix" && unknown["port"] == "0" && unknown["link"] == "")
    }

    @Test("SHOW SERVERS lists servers with type S and close_needed")
    func servers() async {
        let runtime = FakeRuntime { $0.serverSnapshots = [[.server(9, appAlice, .idle, closeNeeded: true)]] }
        let row = await table("SHOW SERVERS", runtime).row("id", "9")
        #expect(row["type"] == "S" && row["state"] == "idle" && row["close_needed"] == "1")
    }

    @Test("SHOW DATABASES: entries with the runtime's limits and counts, then the console with its sessions")
    func databases() async {
        let config = TestConfig.standard
        let runtime = FakeRuntime { s in
            s.databases = [
                AdminDatabase(entry: config.databases["otherdb"]!, poolSize: 20, minPoolSize: 0, reservePoolSize: 0, paused: true),
                AdminDatabase(entry: config.databases["appdb"]!, poolSize: 7, minPoolSize: 1, reservePoolSize: 3, serverConnections: 4,
                              disabled: true),
            ]
            s.clients = [.client(1, appAlice, .idle), .client(2, appAlice, .active), .client(3, nil, .idle, database: "pgswift")]
        }
        let t = await table("SHOW DATABASES", runtime)
        #expect(t.rows.map { $0["name"] } == ["appdb", "otherdb", "pgbouncer"])
        let app = t.row("name", "appdb")
        let expected: [String: String?] = [
            "host": "10.0.0.5", "port": "5433", "database": "app", "force_user": nil, "pool_size": "7", "min_pool_size": "1",
            "reserve_pool_size": "3", "reserve_pool": "3", "server_lifetime": "1800", "pool_mode": nil, "max_connections": "30",
            "current_connections": "4", "max_client_connections": "50", "current_client_connections": "2", "paused": "0", "disabled": "1",
        ]
        for (column, value) in expected { #expect(app[column] == value, "\(column)") }
        let other = t.row("name", "otherdb")
        #expect(other["force_user"] == "forced" && other["pool_mode"] == "session" && other["paused"] == "1")
        let console = t.row("name", "pgbouncer")
        #expect(console["port"] == "6543" && console["current_client_connections"] == "1" && console["pool_mode"] == "statement")
    }

    @Test("SHOW USERS: auth_file, [users], pool and client users, and the console's, with their counts")
    func users() async {
        let runtime = FakeRuntime { s in
            s.users = AdminUsers(authFile: ["bob"], serverConnections: ["alice": 3])
            s.pools = [AdminPool(name: otherForced, mode: "session")]
            s.clients = [.client(1, appAlice, .idle), .client(2, appAlice, .idle), .client(3, nil, .login, database: "x", user: "carol"),
                         .client(4, nil, .login, database: "x", user: "")]
        }
        let t = await table("SHOW USERS", runtime)
        #expect(t.rows.map { $0["name"] } == ["alice", "bob", "carol", "forced", "pgbouncer"])
        let alice = t.row("name", "alice")
        let expected: [String: String?] = [
            "pool_size": "5", "reserve_pool_size": "2", "pool_mode": "transaction", "max_user_connections": "40",
            "current_connections": "3", "max_user_client_connections": "60", "current_client_connections": "2",
        ]
        for (column, value) in expected { #expect(alice[column] == value, "\(column)") }
        let bob = t.row("name", "bob")
        #expect(bob["pool_size"] == "" && bob["pool_mode"] == .some(nil) && bob["current_connections"] == "0")
    }

    @Test("SHOW LISTS counts what the snapshots hold")
    func lists() async {
        let runtime = FakeRuntime { s in
            s.pools = [AdminPool(name: appAlice, mode: "transaction")]
            s.clients = [.client(1, appAlice, .idle), .client(2, nil, .login, database: "appdb", user: "alice")]
            s.serverSnapshots = [[.server(5, appAlice, .idle), .server(6, appAlice, .active)]]
        }
        let t = await table("SHOW LISTS", runtime)
        let items = Dictionary(uniqueKeysWithValues: t.rows.map { ($0["list"]!!, $0["items"]!!) })
        #expect(items == ["databases": "2", "users": "2", "peers": "0", "pools": "1", "peer_pools": "0", "free_clients": "0",
                          "used_clients": "1", "login_clients": "1", "free_servers": "0", "used_servers": "2", "dns_names": "0",
                          "dns_zones": "0", "dns_queries": "0", "dns_pending": "0"])
    }

    @Test("SHOW STATE follows the pause")
    func state() async {
        let runtime = FakeRuntime { $0.paused = true }
        let t = await table("SHOW STATE", runtime)
        #expect(t.rows.map { [$0["key"]!!, $0["value"]!!] } == [["active", "no"], ["paused", "yes"], ["suspended", "no"]])
    }

    @Test("SHOW MEM: a row per kind, memtotal = size × used, nothing free")
    func mem() async {
        let runtime = FakeRuntime { s in
            s.memory = AdminMemory(pools: .init(size: 512, used: 2), servers: .init(size: 1024, used: 3), clients: .init(size: 0, used: 0),
                                   preparedStatements: .init(size: 0, used: 9))
        }
        let t = await table("SHOW MEM", runtime)
        #expect(t.rows.map { $0["name"] } == ["pool_cache", "server_cache", "client_cache", "server_prepared_statement_cache"])
        #expect(t.row("name", "server_cache")["memtotal"] == "3072")
        #expect(t.row("name", "pool_cache")["memtotal"] == "1024")
        #expect(t.rows.allSatisfy { $0["free"] == "0" })
    }

    @Test("SHOW PREPARED_STATEMENTS: by server, then statement; a forgotten text is NULL")
    func preparedStatements() async {
        let runtime = FakeRuntime { s in
            s.statements = [
                AdminPreparedStatement(serverID: 9, database: "appdb", user: "alice", statementID: 2, name: "pgswift_2", query: nil),
                AdminPreparedStatement(serverID: 4, database: "appdb", user: "alice", statementID: 7, name: "pgswift_7", query: "SELECT 7"),
                AdminPreparedStatement(serverID: 9, database: "appdb", user: "alice", statementID: 1, name: "pgswift_1", query: "SELECT 1"),
            ]
        }
        let t = await table("SHOW PREPARED_STATEMENTS", runtime)
        #expect(t.rows.map { $0["name"] } == ["pgswift_7", "pgswift_1", "pgswift_2"])
        #expect(t.row("name", "pgswift_2")["query"] == .some(nil))
        #expect(t.row("name", "pgswift_7")["server_id"] == "4")
    }

    @Test("SHOW SLA: compliant when nothing is missed, the misses listed by name")
    func sla() async {
        let runtime = FakeRuntime { s in
            s.sla = AdminSLA(windowSeconds: 60, targets: .init(p50Ms: "100", p95Ms: "300", p99Ms: "500"), rows: [
                .init(database: "*", queries: 1200, queriesPerSecond: "20", p50Ms: "0.5", p95Ms: "350.125", p99Ms: "900",
                      missed: ["p95", "p99"]),
                .init(database: "appdb", queries: 10, queriesPerSecond: "0.17", p50Ms: "1", p95Ms: "2", p99Ms: "3", missed: []),
            ])
        }
        let t = await table("SHOW SLA", runtime)
        let all = t.row("database", "*")
        #expect(all["compliant"] == "no" && all["missed"] == "p95,p99" && all["p95_ms"] == "350.125" && all["target_p99_ms"] == "500")
        #expect(all["window_seconds"] == "60" && all["queries"] == "1200")
        let app = t.row("database", "appdb")
        #expect(app["compliant"] == "yes" && app["missed"] == "")
    }

    @Test("SHOW TUNING: one row per recommendation, safe as yes/no")
    func tuning() async {
        let runtime = FakeRuntime { s in
            s.tuning = [TuningRecommendation(setting: "default_pool_size", current: "20", recommended: "30", reason: "queue", safe: true),
                        TuningRecommendation(setting: "max_client_conn", current: "100", recommended: "200", reason: "fds", safe: false)]
        }
        let t = await table("SHOW TUNING", runtime)
        #expect(t.rows.map { $0["safe"] } == ["yes", "no"])
        #expect(t.row("setting", "default_pool_size")["recommended"] == "30")
    }

    @Test("SHOW NODES: one row per host, NULL where nothing is known yet")
    func nodes() async {
        let runtime = FakeRuntime { s in
            s.nodes = [AdminNode(database: "app", host: "10.0.0.1", port: 5432, role: "primary", state: "up", circuit: "closed",
                                 walPosition: "0/C6002120", activeServers: 2, idleServers: 1, checkedSecondsAgo: 3),
                       AdminNode(database: "app", host: "10.0.0.2", port: 5433, role: "replica", state: "up", circuit: "closed",
                                 walPosition: "0/C6000000", lagBytes: 8480, lagMilliseconds: 120, checkedSecondsAgo: 3),
                       AdminNode(database: "app", host: "10.0.0.3", port: 5432, role: "unknown", state: "down", circuit: "open",
                                 lastError: "could not connect: connection refused")]
        }
        let t = await table("SHOW NODES", runtime)
        #expect(t.rows.count == 3)
        let primary = t.row("host", "10.0.0.1")
        #expect(primary["role"] == "primary" && primary["sv_active"] == "2" && primary["sv_idle"] == "1" && primary["lag_bytes"] == .some(nil))
        let replica = t.row("host", "10.0.0.2")
        #expect(replica["lag_bytes"] == "8480" && replica["lag_ms"] == "120" && replica["port"] == "5433")
        let down = t.row("host", "10.0.0.3")
        #expect(down["state"] == "down" && down["circuit"] == "open" && down["wal_lsn"] == .some(nil) && down["last_error"]??.contains("refused") == true)
    }

    @Test("SHOW VERSION names both releases; SHOW HELP is a notice")
    func versionAndHelp() async {
        let runtime = FakeRuntime()
        let version = await table("SHOW VERSION", runtime)
        #expect(version.rows == [["version": "pgswift 9.8.7 (PgBouncer 1.25.0 compatible)"]])
        let help = await run("SHOW HELP", runtime)
        guard case .notice("Console usage", let detail?, "SHOW") = help else {
            Issue.record("SHOW HELP is not the usage notice")
            return
        }
        #expect(detail.hasPrefix("\n\tSHOW HELP|"))
    }

    @Test("SHOW CONFIG: the token masked, start-only keys unchangeable, where each value came from")
    func config() async {
        let t = await table("SHOW CONFIG", FakeRuntime())
        #expect(t.columns == ["key", "value", "default", "changeable", "source"])
        #expect(t.row("key", "status_admin_token")["value"] == "********")
        let port = t.row("key", "listen_port")
        #expect(port["value"] == "6543" && port["changeable"] == "no" && port["source"] != "default")
        let size = t.row("key", "default_pool_size")
        #expect(size["changeable"] == "yes" && size["source"] == "default")
        #expect(t.rows.map { $0["key"]!! } == t.rows.map { $0["key"]!! }.sorted())

        let unset = await table("SHOW CONFIG", FakeRuntime(config: TestConfig.load("[pgbouncer]\nauth_type = trust\n")))
        #expect(unset.row("key", "status_admin_token")["value"] == "")
    }
}
