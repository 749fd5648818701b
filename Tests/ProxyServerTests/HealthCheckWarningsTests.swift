// What --check says about health checks of host lists that cannot run as configured.
import Foundation
import Testing
@testable import ProxyServer

@Suite("Health check warnings")
struct HealthCheckWarningsTests {
    static let scram = "SCRAM-SHA-256$4096:c2FsdA==$c3RvcmVkS2V5c3RvcmVkS2V5c3RvcmVkS2V5c3RvcmVkS2U=:c2VydmVyS2V5c2VydmVyS2V5c2VydmVyS2V5c2VydmVyS2U="

    func warnings(_ settings: String, database: String = "app = host=db1,db2 dbname=app") throws -> [String] {
        try loaded(settings, database: database).healthCheckWarnings
    }

    func loaded(_ settings: String, database: String) throws -> LoadedConfig {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pgswift-hc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let users = dir.appendingPathComponent("users.txt")
        try Data("\"monitor\" \"pw\"\n\"scrammy\" \"\(Self.scram)\"\n\"fixed\" \"pw\"\n".utf8).write(to: users)
        let ini = dir.appendingPathComponent("p.ini")
        try Data("[databases]\n\(database)\n[pgswift]\nauth_type = trust\nauth_file = \(users.path)\n\(settings)\n".utf8).write(to: ini)
        return try LoadedConfig.load(path: ini.path, environment: [:])
    }

    @Test func aUserWithAPasswordNeedsNoWarning() throws {
        #expect(try warnings("health_check_user = monitor").isEmpty)
    }

    @Test func aUserWithOnlyAScramVerifierCannotLogIn() throws {
        let w = try warnings("health_check_user = scrammy")
        #expect(w.count == 1 && w[0].contains("only a SCRAM verifier") && w[0].contains("app"))
    }

    @Test func withoutAUserTheChecksWaitForAPoolUnlessTheEntryHasAFixedUserWithAPassword() throws {
        let w = try warnings("")
        #expect(w.count == 1 && w[0].hasPrefix("app: no health_check_user"))
        #expect(try warnings("", database: "app = host=db1,db2 user=fixed").isEmpty)
        #expect(try warnings("", database: "app = host=db1 dbname=app").isEmpty)
        #expect(try warnings("health_check_period = 0").isEmpty)
    }

    @Test func readWriteSplitWhereItCannotSplit() throws {
        let one = try loaded("health_check_user = monitor", database: "app = host=db1 dbname=app read_write_split=1").routingWarnings
        #expect(one.count == 1 && one[0].hasPrefix("app: read_write_split needs several hosts"))
        // The global setting covers single-host entries without a word.
        #expect(try loaded("read_write_split = 1", database: "app = host=db1 dbname=app").routingWarnings.isEmpty)
        let unchecked = try loaded("read_write_split = 1\nhealth_check_period = 0", database: "app = host=db1,db2 dbname=app").routingWarnings
        #expect(unchecked.count == 1 && unchecked[0].contains("health_check_period = 0"))
        #expect(try loaded("read_write_split = 1\nhealth_check_user = monitor", database: "app = host=db1,db2 dbname=app").routingWarnings.isEmpty)
    }
}
