// Spellings and quoting for the settings pgswift applies to server sessions on a client's behalf.
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

    static func quoteLiteral(_ s: String) -> String {
        "'" + s.replacingOccurrences(of: "'", with: "''") + "'"
    }

    static func quoteIdentifier(_ s: String) -> String {
        "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
