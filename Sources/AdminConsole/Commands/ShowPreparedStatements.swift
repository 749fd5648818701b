// SHOW PREPARED_STATEMENTS (pgswift's own): which shared statements each server connection holds, and their text.

enum ShowPreparedStatements: AdminCommand {
    static let name = "SHOW PREPARED_STATEMENTS"

    static func run(_ call: AdminCall) async throws -> AdminReply {
        let rows = try await call.runtime.preparedStatements()
        var t = AdminTable([("database", .text), ("user", .text), ("server_id", .int4), ("name", .text), ("query", .text)])
        for r in rows.sorted(by: { ($0.serverID, $0.statementID) < ($1.serverID, $1.statementID) }) {
            t.add([.text(r.database), .text(r.user), .int(r.serverID), .text(r.name), r.query.map { .text($0) } ?? .null])
        }
        return .table(t)
    }
}
