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

    /// One startup parameter a client wants, with the name the server reports it under; built once per client.
    struct Wanted: Sendable {
        var name: String
        var reported: String
        var value: String
        /// Spelling differences only (UTC/utc, ISO, MDY/iso, mdy) do not matter, except for application_name.
        var caseMatters: Bool
    }

    static func wantedList(_ wanted: [String: String]) -> [Wanted] {
        wanted.sorted { $0.key < $1.key }.map { name, value in
            let reported = reportedName[name.lowercased()] ?? name
            return Wanted(name: name, reported: reported, value: value, caseMatters: reported == "application_name")
        }
    }

    /// Runs on every lease, so the common case (nothing differs) costs a dictionary lookup per parameter.
    static func statements(wanted: [Wanted], current: [String: String]) -> String {
        var sql = ""
        for w in wanted {
            if let have = current[w.reported] ?? current[w.name] {
                if have == w.value { continue }
                if !w.caseMatters && have.lowercased() == w.value.lowercased() { continue }
            }
            sql += "SET \(quoteIdentifier(w.name)) = \(quoteLiteral(w.value));"
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
