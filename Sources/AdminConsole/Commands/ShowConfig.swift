// SHOW CONFIG: every setting with its value, default, whether SET may change it, and where the value came from.

enum ShowConfig: AdminCommand {
    static let name = "SHOW CONFIG"
    /// Keys that only take effect at start (PgBouncer's changeable=no set, plus pgswift's threads).
    static let fixedAtStart: Set<String> = [
        "disable_pqexec", "job_name", "listen_addr", "listen_backlog", "listen_port", "pidfile", "pkt_buf", "resolv_conf",
        "so_reuseport", "track_extra_parameters", "unix_socket_dir", "unix_socket_group", "unix_socket_mode", "user", "threads",
        "status_addr", "status_port",
    ]
    /// Shown as set or not, never in clear: stats_users may read SHOW CONFIG.
    static let secret: Set<String> = ["status_admin_token"]

    static func run(_ call: AdminCall) -> AdminReply {
        let config = call.runtime.config
        // PgBouncer's four columns first and in its order, so its readers keep working; pgswift's source after them.
        var t = AdminTable([("key", .text), ("value", .text), ("default", .text), ("changeable", .text), ("source", .text)])
        for key in config.settings.keys.sorted() {
            guard let s = config.settings[key] else { continue }
            let value = secret.contains(key) && !s.text.isEmpty ? "********" : s.text
            t.add([.text(key), .text(value), .text(s.spec.defaultValue), .text(fixedAtStart.contains(key) ? "no" : "yes"),
                   .text(s.source.origin)])
        }
        return .table(t)
    }
}
