// The control commands against a recording runtime: what each asks the proxy to do, when it answers, and its refusals.
import AdminConsole
import Logging
import PGWire
import Testing

@Suite("Control commands")
struct ControlCommandTests {
    static let removed = PGError(SQLState.protocolViolation, "database removed", severity: Severity.fatal)

    @Test("PAUSE pauses everything and answers once no server is active")
    func pauseWaits() async {
        let runtime = FakeRuntime { s in
            s.serverSnapshots = [[.server(1, appAlice, .active)], [.server(1, appAlice, .active)], [.server(1, appAlice, .idle)]]
        }
        #expect(outcome(await run("PAUSE", runtime)) == "tag PAUSE")
        #expect(runtime.calls == [.pause(true)])
        #expect(runtime.serverReads == 3)
        #expect(runtime.logged.all.map(\.text) == ["PAUSE from the admin console: clients wait for RESUME"])
    }

    @Test("PAUSE db pauses that database and waits only for its servers")
    func pauseDatabase() async {
        let runtime = FakeRuntime { $0.serverSnapshots = [[.server(1, otherForced, .active), .server(2, appAlice, .idle)]] }
        #expect(outcome(await run("PAUSE appdb", runtime)) == "tag PAUSE")
        #expect(runtime.calls == [.pauseDatabase("appdb", true)])
        #expect(runtime.serverReads == 1)
    }

    struct Refusal: Sendable, CustomTestStringConvertible {
        var text: String
        var message: String
        var paused = false
        var testDescription: String { text }
    }

    @Test("refusals name the database as PgBouncer does, and change nothing", arguments: [
        Refusal(text: "PAUSE", message: "already suspended/paused", paused: true),
        Refusal(text: "KILL appdb", message: "already suspended/paused", paused: true),
        Refusal(text: "PAUSE pgbouncer", message: "cannot pause admin db: pgbouncer"),
        Refusal(text: "PAUSE nosuch", message: "no such database: nosuch"),
        Refusal(text: "KILL pgswift", message: "cannot kill admin db: pgswift"),
        Refusal(text: "DISABLE pgbouncer", message: "cannot disable admin db: pgbouncer"),
        Refusal(text: "ENABLE nosuch", message: "no such database: nosuch"),
        Refusal(text: "RECONNECT pgbouncer", message: "cannot reconnect admin db: pgbouncer"),
        Refusal(text: "WAIT_CLOSE pgswift", message: "cannot wait in admin db: pgswift"),
        Refusal(text: "RESUME", message: "pooler is not paused/suspended"),
        Refusal(text: "RESUME nosuch", message: "no such database: nosuch"),
        Refusal(text: "RESUME appdb", message: "database appdb is not paused"),
        Refusal(text: "KILL_CLIENT abc", message: "invalid client pointer supplied"),
        Refusal(text: "SHUTDOWN NOW", message: "invalid command 'SHUTDOWN NOW', use SHOW HELP;"),
    ])
    func refusals(_ r: Refusal) async {
        let runtime = FakeRuntime { $0.paused = r.paused }
        #expect(outcome(await run(r.text, runtime)) == "error \(r.message)")
        // RESUME appdb asks the runtime, which answers that it was not paused.
        #expect(runtime.calls.filter { $0 != .pauseDatabase("appdb", false) } == [])
    }

    @Test("RESUME undoes PAUSE, for everything and for one database")
    func resume() async {
        let runtime = FakeRuntime { $0.paused = true; $0.pausedDatabases = ["appdb"] }
        #expect(outcome(await run("RESUME appdb", runtime)) == "tag RESUME")
        #expect(outcome(await run("RESUME", runtime)) == "tag RESUME")
        #expect(runtime.calls == [.pauseDatabase("appdb", false), .pause(false)])
    }

    @Test("DISABLE and ENABLE switch logins for one database, and say so in the log")
    func disableEnable() async {
        let runtime = FakeRuntime()
        #expect(outcome(await run("DISABLE appdb", runtime)) == "tag DISABLE")
        #expect(outcome(await run("ENABLE appdb", runtime)) == "tag ENABLE")
        #expect(runtime.calls == [.disable("appdb", true), .disable("appdb", false)])
        #expect(runtime.logged.all.map(\.text) == ["DISABLE appdb from the admin console: new logins are refused",
                                                   "ENABLE appdb from the admin console"])
    }

    @Test("KILL pauses first, then closes the database's connections with PgBouncer's FATAL")
    func kill() async {
        let one = FakeRuntime()
        #expect(outcome(await run("KILL appdb", one)) == "tag KILL")
        #expect(one.calls == [.pauseDatabase("appdb", true), .kill(["appdb"], Self.removed)])

        let all = FakeRuntime()
        #expect(outcome(await run("KILL", all)) == "tag KILL")
        #expect(all.calls.count == 3)
        #expect(all.calls.contains(.pauseDatabase("appdb", true)) && all.calls.contains(.pauseDatabase("otherdb", true)))
        #expect(all.calls.last == .kill(["appdb", "otherdb"], Self.removed))
    }

    @Test("KILL_CLIENT closes one client by id, or says it is not there")
    func killClient() async {
        let runtime = FakeRuntime { $0.killableClients = [5] }
        let forced = PGError(SQLState.protocolViolation, "admin forced disconnect", severity: Severity.fatal)
        #expect(outcome(await run("KILL_CLIENT 5", runtime)) == "tag KILL_CLIENT")
        #expect(outcome(await run("KILL_CLIENT 6", runtime)) == "error client not found")
        #expect(runtime.calls == [.killClient(5, forced), .killClient(6, forced)])
    }

    @Test("RECONNECT asks for new servers; WAIT_CLOSE answers once none is left to close")
    func reconnect() async {
        let runtime = FakeRuntime { s in
            s.serverSnapshots = [[.server(1, appAlice, .active, closeNeeded: true), .server(2, otherForced, .idle, closeNeeded: true)],
                                 [.server(2, otherForced, .idle, closeNeeded: true)]]
        }
        #expect(outcome(await run("RECONNECT", runtime)) == "tag RECONNECT")
        #expect(outcome(await run("RECONNECT appdb", runtime)) == "tag RECONNECT")
        #expect(runtime.calls == [.reconnect(nil), .reconnect("appdb")])
        #expect(outcome(await run("WAIT_CLOSE appdb", runtime)) == "tag WAIT_CLOSE")
        #expect(runtime.serverReads == 2)
    }

    @Test("DRAIN NODE and UNDRAIN NODE name a node as SHOW NODES does; an unknown one or a bad address is refused")
    func drainNode() async {
        let runtime = FakeRuntime { s in
            s.nodes = [AdminNode(database: "app", host: "10.0.0.2", port: 5433, role: "replica", state: "up", circuit: "closed")]
        }
        #expect(outcome(await run("DRAIN NODE app 10.0.0.2:5433", runtime)) == "tag DRAIN NODE")
        #expect(outcome(await run("undrain node app 10.0.0.2:5433;", runtime)) == "tag UNDRAIN NODE")
        #expect(outcome(await run("DRAIN NODE app 10.0.0.9:5433", runtime)) == "error no node 10.0.0.9:5433 in database app (SHOW NODES lists them)")
        #expect(outcome(await run("DRAIN NODE app 10.0.0.2", runtime)).hasPrefix("error DRAIN NODE needs a database and a host:port"))
        #expect(runtime.calls == [.drain(true, "app", "10.0.0.2", 5433), .drain(false, "app", "10.0.0.2", 5433),
                                  .drain(true, "app", "10.0.0.9", 5433)])
        // The rest check the grammar only.
        // Without NODE, or without the node, it is not the grammar.
        #expect(outcome(await run("DRAIN app 10.0.0.2:5433", runtime)).hasPrefix("error invalid command"))
        #expect(outcome(await run("DRAIN NODE app", runtime)).hasPrefix("error invalid command"))
        // Long (cloud) host names fit; an IPv6 address may come in brackets.
        let long = "orders-prod-replica-2.c9akciq32.eu-central-1.rds.amazonaws.com"
        _ = await run("DRAIN NODE orders_database_with_a_long_name \(long):5432", runtime)
        _ = await run("DRAIN NODE app [::1]:5433", runtime)
        #expect(runtime.calls.suffix(2) == [.drain(true, "orders_database_with_a_long_name", long, 5432), .drain(true, "app", "::1", 5433)])
        // Control, not SHOW: stats users may not.
        #expect(outcome(await run("DRAIN NODE app 10.0.0.2:5433", runtime, rights: .stats)) == "error admin access needed")
    }

    @Test("RELOAD reports a failed reload as PgBouncer does")
    func reload() async {
        let good = FakeRuntime()
        #expect(outcome(await run("RELOAD", good)) == "tag RELOAD")
        let bad = FakeRuntime { $0.reloadSucceeds = false }
        guard case .error(let e) = await run("RELOAD", bad) else {
            Issue.record("a failed RELOAD succeeded")
            return
        }
        #expect(e.sqlState == SQLState.configFileError && e.message == "RELOAD failed, see logs for additional details")
    }

    @Test("SHUTDOWN: immediate sends nothing, the waiting modes answer; no control, no shutdown")
    func shutdown() async {
        let runtime = FakeRuntime()
        #expect(outcome(await run("SHUTDOWN", runtime)) == "silent")
        #expect(outcome(await run("SHUTDOWN wait_for_clients", runtime)) == "tag SHUTDOWN")
        #expect(outcome(await run("SHUTDOWN WAIT_FOR_SERVERS;", runtime)) == "tag SHUTDOWN")
        #expect(runtime.calls == [.shutdown(.immediate), .shutdown(.waitForClients), .shutdown(.waitForServers)])
        let stuck = FakeRuntime { $0.canShutdown = false }
        #expect(outcome(await run("SHUTDOWN", stuck)) == "error shutdown is not available")
    }

    @Test("SET changes a setting; a refused value is SET failed and logged with the reason")
    func set() async {
        let runtime = FakeRuntime { $0.refusedSettings = ["default_pool_size": "not a number"] }
        #expect(outcome(await run("SET max_client_conn = 500", runtime)) == "tag SET max_client_conn=500")
        #expect(outcome(await run("SET default_pool_size = lots", runtime)) == "error SET failed")
        #expect(runtime.calls == [.set("max_client_conn", "500"), .set("default_pool_size", "lots")])
        let warning = runtime.logged.all.last
        #expect(warning?.level == .warning && warning?.text.hasSuffix("refused: not a number") == true)
    }

    @Test("SET of the admin token keeps it out of the reply and the log")
    func setSecret() async {
        let runtime = FakeRuntime()
        #expect(outcome(await run("SET status_admin_token = 'hunter2'", runtime)) == "tag SET status_admin_token=********")
        #expect(runtime.calls == [.set("status_admin_token", "hunter2")])
        #expect(!runtime.logged.all.contains { $0.text.contains("hunter2") })
    }

    @Test("SET of a driver's session parameter is ignored with a notice, even for stats_users")
    func setIgnored() async {
        let runtime = FakeRuntime()
        #expect(outcome(await run("SET client_encoding = 'UTF8'", runtime, rights: .stats)) == "notice SET ignored SET")
        #expect(runtime.calls == [])
    }

    @Test("a snapshot that cannot be taken fails the command, not the session")
    func loopsGone() async {
        let runtime = FakeRuntime { $0.loopsGone = true }
        #expect(outcome(await run("SHOW CLIENTS", runtime)) == "error command failed: event loops stopped")
        #expect(outcome(await run("SHOW STATE", runtime)) == "table SHOW")
    }
}
