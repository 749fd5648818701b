// Quoting for the settings pgswift applies to server sessions on a client's behalf.
import Foundation

enum ParameterSync {
    static func quoteLiteral(_ s: String) -> String {
        "'" + s.replacingOccurrences(of: "'", with: "''") + "'"
    }

    static func quoteIdentifier(_ s: String) -> String {
        "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
