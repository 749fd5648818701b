// Quoting for the settings pgswift applies to server sessions on a client's behalf.
import Foundation

public enum ParameterSync {
    public static func quoteLiteral(_ s: String) -> String {
        "'" + s.replacingOccurrences(of: "'", with: "''") + "'"
    }

    public static func quoteIdentifier(_ s: String) -> String {
        "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
