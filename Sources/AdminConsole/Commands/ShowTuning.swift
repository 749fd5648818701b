// SHOW TUNING: the status port's tuning advice (what POST /api/v1/performance/tune answers), one row per recommendation.

enum ShowTuning: AdminCommand {
    static let name = "SHOW TUNING"

    static func run(_ call: AdminCall) async -> AdminReply {
        var t = AdminTable([("setting", .text), ("current", .text), ("recommended", .text), ("safe", .text), ("reason", .text)])
        for r in await call.runtime.tuning() {
            t.add([.text(r.setting), .text(r.current), .text(r.recommended), .text(r.safe ? "yes" : "no"), .text(r.reason)])
        }
        return .table(t)
    }
}
