// Shared by the console's control commands: checking a database argument, and waiting until servers settle.
import PGWire

enum AdminTarget {
    /// nil if `db` may be acted on; otherwise PgBouncer's error for it.
    static func refuse(_ db: String, verb: String, _ runtime: any AdminRuntime) -> AdminReply? {
        let config = runtime.config
        if AdminCommands.databaseNames.contains(db) && config.database(named: db) == nil {
            return .error(PGError(SQLState.protocolViolation, "cannot \(verb) admin db: \(db)"))
        }
        guard config.database(named: db) != nil else { return .error(PGError(SQLState.protocolViolation, "no such database: \(db)")) }
        return nil
    }

    /// Returns once no server matches `busy`, looking again every 50 ms.
    static func waitUntilNone(_ runtime: any AdminRuntime, _ busy: (AdminConnection) -> Bool) async throws {
        while try await runtime.servers().contains(where: busy) {
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Whether a server belongs to `db` (every server does when no database was named).
    static func server(_ s: AdminConnection, of db: String?) -> Bool {
        db == nil || s.pool?.database == db
    }
}
