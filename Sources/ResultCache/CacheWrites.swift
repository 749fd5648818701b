// What a statement a client sends may have changed, as the cache's versions must follow it: named tables, nothing,
// or anything at all (when pgswift cannot tell).
import SQLAnalysis

public enum CacheWrites {
    public enum Effect: Sendable, Equatable {
        case none
        /// Bare names of every table it names (written or read: moving a read one costs a miss, never a stale read).
        case tables([String])
        case anything
    }

    /// - `volatile`: user functions that may write (the catalog's VOLATILE ones, write_functions), by name.
    public static func effect(of profile: StatementProfile, volatile: Set<String>) -> Effect {
        // COMMIT PREPARED makes another session's writes (PREPARE TRANSACTION'd earlier) visible: which, is unknown.
        if profile.transaction == .commitPrepared { return .anything }
        // A function that may write, whatever the statement around it.
        if profile.functions.contains(where: { volatile.contains($0.name) || volatile.contains($0.description) }) { return .anything }
        switch profile.primaryReason {
        case nil:
            return .none
        case .lockingRead, .transactionID, .advisoryLock, .notify, .listen, .lock, .sequence:
            // No write by itself; but the profile keeps the first statement's reason only (a LOCK, then an UPDATE), so
            // with several statements all the tables named may be written.
            if profile.statements == 1 { return .none }
        case .write, .selectInto, .copyFrom, .ddl, .maintenance:
            break
        case .doBlock, .call, .sqlPrepare, .unparsed, .volatileFunction, .explainAnalyzeWrite, .largeObject:
            return .anything
        }
        // DDL with no table named (CREATE FUNCTION, ALTER DEFAULT PRIVILEGES...) may change what any read returns.
        let names = profile.tableNames
        return names.isEmpty ? .anything : .tables(names)
    }
}
