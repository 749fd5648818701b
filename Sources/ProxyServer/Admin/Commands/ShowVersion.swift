// SHOW VERSION: one row, one column named version (exporters rely on both).
import NIOCore

enum ShowVersion: AdminCommand {
    static let name = "SHOW VERSION"

    static func run(_ call: AdminCall) -> EventLoopFuture<AdminReply> {
        var t = AdminTable([("version", .text)])
        t.add([.text("pgswift \(PgswiftVersion.current) (PgBouncer \(PgswiftVersion.compatible) compatible)")])
        return call.eventLoop.makeSucceededFuture(.table(t))
    }
}
