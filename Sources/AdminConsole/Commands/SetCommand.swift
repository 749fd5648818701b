// SET key = value: change a setting at run time, checked like the file (RELOAD puts the file's values back).
import PGWire

enum SetCommand: AdminCommand {
    static let name = "SET"
    static let argument = AdminArgument.required
    /// Session parameters drivers set on connect: accepted and ignored, as PgBouncer does.
    static let ignored: Set<String> = ["client_encoding", "default_transaction_isolation", "standard_conforming_strings", "datestyle", "timezone"]

    static func run(_ call: AdminCall) -> AdminReply {
        let text = call.argument!
        guard let eq = text.firstIndex(of: "=") else { return .error(PGError(SQLState.protocolViolation, "SET failed")) }
        let key = String(text[..<eq]), value = String(text[text.index(after: eq)...])
        if ignored.contains(key) { return .notice(message: "SET ignored", detail: nil, tag: "SET") }
        let runtime = call.runtime
        // A token set here must not end up in the log or the reply in clear.
        let shown = ShowConfig.secret.contains(key.lowercased()) ? "********" : value
        switch runtime.set(key, to: value) {
        case .failure(let m):
            runtime.logger.warning("SET \(key) = \(shown) from the admin console refused: \(m.text)")
            return .error(PGError(SQLState.protocolViolation, "SET failed"))
        case .success:
            runtime.logger.info("SET \(key) = \(shown) from the admin console")
            return .done(tag: "SET \(key)=\(shown)")
        }
    }
}
