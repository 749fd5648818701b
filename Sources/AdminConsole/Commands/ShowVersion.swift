// SHOW VERSION: one row, one column named version (exporters rely on both).

enum ShowVersion: AdminCommand {
    static let name = "SHOW VERSION"

    static func run(_ call: AdminCall) -> AdminReply {
        let v = call.runtime.versions
        var t = AdminTable([("version", .text)])
        t.add([.text("pgswift \(v.pgswift) (PgBouncer \(v.pgbouncer) compatible)")])
        return .table(t)
    }
}
