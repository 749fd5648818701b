// The SQL that gives a server session the settings its next client wants.

public enum SessionSync {
    /// Statements that take a server session from the settings pgswift knows it has to the ones the client wants
    /// (its startup parameters, overlaid by what its own SETs left). set_config, not SET, so that a list value such
    /// as a search_path is taken as PostgreSQL took it at startup. A setting the server has never been given is
    /// left alone when the server already reports what the client would be shown for it (client_encoding, DateStyle...
    /// on a fresh server), by the same rule as the welcome's (`ReportedParameters.reportedValue`).
    public static func statements(desired: [String: String], server: [String: String], reported: [String: String]) -> String {
        if desired == server { return "" }
        var sql = ""
        var reportedLower: [String: String]?
        for (name, value) in desired.sorted(by: { $0.key < $1.key }) where server[name] != value {
            if server[name] == nil {
                if reportedLower == nil { reportedLower = Dictionary(reported.map { ($0.key.lowercased(), $0.value) }) { _, b in b } }
                if let have = reportedLower?[name], ReportedParameters.reportedValue(name, value, current: have) == have {
                    continue
                }
            } else if name == "datestyle" {
                // PostgreSQL merges a DateStyle with the current one ("SQL" keeps the order a last client chose): from
                // the session's own default it comes out as it would for this client on a fresh connection.
                sql += "RESET datestyle;"
            }
            sql += "SELECT pg_catalog.set_config(\(ParameterSync.quoteLiteral(name)), \(ParameterSync.quoteLiteral(value)), false);"
        }
        for name in server.keys.sorted() where desired[name] == nil {
            sql += "RESET \(name.split(separator: ".").map { ParameterSync.quoteIdentifier(String($0)) }.joined(separator: "."));"
        }
        return sql
    }
}
