// Whether the user functions a statement calls may write: VOLATILE ones (as the primary's catalog says) may, unless
// read_only_functions lists them; write_functions forces any function to count.
import SQLAnalysis

public struct FunctionVolatility: Sendable, Equatable {
    /// Names (lower case, without schema) of the database's VOLATILE functions outside pg_catalog and
    /// information_schema: an overload or a schema of the same name counts too, which errs towards the primary.
    public var volatile: Set<String>
    public var writeFunctions: Set<String>
    public var readOnlyFunctions: Set<String>

    public init(volatile: Set<String> = [], writeFunctions: Set<String> = [], readOnlyFunctions: Set<String> = []) {
        self.volatile = volatile
        self.writeFunctions = writeFunctions
        self.readOnlyFunctions = readOnlyFunctions
    }

    /// The settings' lists hold names as written (`audit.log_event` or `log_event`); a call matches either form.
    public func mayWrite(_ functions: [QualifiedName]) -> Bool {
        functions.contains { f in
            let name = f.name.lowercased(), full = f.description.lowercased()
            if writeFunctions.contains(name) || writeFunctions.contains(full) { return true }
            if readOnlyFunctions.contains(name) || readOnlyFunctions.contains(full) { return false }
            return volatile.contains(name)
        }
    }

    /// The catalog query's one row: the names, comma-separated (nil or empty: none).
    public static let sql = """
        SELECT string_agg(DISTINCT lower(p.proname), ',') FROM pg_catalog.pg_proc p \
        JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace \
        WHERE p.provolatile = 'v' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND p.prokind IN ('f', 'p')
        """

    public static func names(_ column: String?) -> Set<String> {
        Set((column ?? "").split(separator: ",").map(String.init))
    }
}
