// SHOW PREPARED_STATEMENTS (pgswift's own): which shared statements each server connection holds, and their text.
import NIOCore

enum ShowPreparedStatements: AdminCommand {
    static let name = "SHOW PREPARED_STATEMENTS"

    static func run(_ call: AdminCall) -> EventLoopFuture<AdminReply> {
        let catalog = call.runtime.statementCatalog
        return call.runtime.gather { loop in
            loop.servers.values.flatMap { s -> [(server: Int, database: String, user: String, statement: Int, name: String)] in
                guard let cache = s.statementsIfOwned else { return [] }
                return cache.statements.map { (server: s.id, database: s.pool?.key.database ?? "", user: s.target.user, statement: $0, name: cache.name(of: $0)) }
            }
        }.map { rows in
            var t = AdminTable([("database", .text), ("user", .text), ("server_id", .int4), ("name", .text), ("query", .text)])
            for r in rows.sorted(by: { ($0.server, $0.statement) < ($1.server, $1.statement) }) {
                t.add([.text(r.database), .text(r.user), .int(r.server), .text(r.name), catalog.text(of: r.statement).map { .text($0) } ?? .null])
            }
            return .table(t)
        }
    }
}
