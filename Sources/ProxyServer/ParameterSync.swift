// Works out the SET statements that give a server session the parameters its new client asked for.
import Foundation

enum ParameterSync {
    /// PostgreSQL reports these under other spellings than clients use in startup packets.
    private static let reportedName: [String: String] = [
        "datestyle": "DateStyle", "timezone": "TimeZone", "intervalstyle": "IntervalStyle",
        "client_encoding": "client_encoding", "application_name": "application_name",
    ]

    /// The name PostgreSQL reports a startup parameter under, for the ones it reports at all.
    static func reportedName(_ name: String) -> String? {
        reportedName[name.lowercased()]
    }

    static func statements(wanted: [String: String], current: [String: String]) -> String {
        if wanted.isEmpty { return "" }
        var sql = ""
        for (name, value) in wanted.sorted(by: { $0.key < $1.key }) {
            let reported = reportedName[name.lowercased()] ?? name
            if let have = current[reported] ?? current[name], have.caseInsensitiveCompare(value) == .orderedSame { continue }
            sql += "SET \(quoteIdentifier(name)) = \(quoteLiteral(value));"
        }
        return sql
    }

    static func quoteLiteral(_ s: String) -> String {
        "'" + s.replacingOccurrences(of: "'", with: "''") + "'"
    }

    static func quoteIdentifier(_ s: String) -> String {
        "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
