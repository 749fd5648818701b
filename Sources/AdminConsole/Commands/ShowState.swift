// SHOW STATE: whether the pooler is active or paused (suspend does not exist in pgswift, so it is always no).

enum ShowState: AdminCommand {
    static let name = "SHOW STATE"

    static func run(_ call: AdminCall) -> AdminReply {
        let paused = call.runtime.isPaused
        var t = AdminTable([("key", .text), ("value", .text)])
        t.add(["active", .text(paused ? "no" : "yes")])
        t.add(["paused", .text(paused ? "yes" : "no")])
        t.add(["suspended", "no"])
        return .table(t)
    }
}
