// The ParameterStatus values a client's welcome shows when they can be worked out without asking a server.

public enum ReportedParameters {
    /// Settings whose value PostgreSQL reports in its own spelling whatever the case the client wrote it in.
    static let caseFolded: Set<String> = ["datestyle", "timezone", "intervalstyle", "standard_conforming_strings",
                                          "default_transaction_read_only"]

    /// What a pool's servers reported at login (`known`), with the client's startup settings (`requested`) shown as
    /// PostgreSQL would report them; nil when only a server can say (a value it would rewrite otherwise, or refuse).
    public static func shown(known: [String: String], requested: [String: String]) -> [String: String]? {
        var shown = known
        var reportedName: [String: String] = [:]
        for name in known.keys { reportedName[name.lowercased()] = name }
        for (name, value) in requested {
            let lower = name.lowercased()
            // PostgreSQL reports every setting it reports at all at login, so one the servers did not is never reported.
            guard let reported = reportedName[lower], let current = known[reported] else { continue }
            guard let v = reportedValue(lower, value, current: current) else { return nil }
            shown[reported] = v
        }
        return shown
    }

    /// What a server reporting `current` for `name` (lower case) would report once given `value`; nil when only the
    /// server can say. The one rule for the welcome (`shown`) and for what a fresh server need not be told (`SessionSync`).
    public static func reportedValue(_ name: String, _ value: String, current: String) -> String? {
        switch name {
        case "application_name":
            // Reported as given, unless PostgreSQL has to replace characters outside printable ASCII.
            return value.utf8.allSatisfy { (32...126).contains($0) } ? value : nil
        case "client_encoding":
            return ClientEncodingName.reported(value) == current ? current : nil
        case _ where value == current:
            return current
        case _ where caseFolded.contains(name) && value.lowercased() == current.lowercased():
            return current
        default:
            return nil
        }
    }
}
