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
        // Several statements: the profile keeps the first one's reason only (a LOCK, then an UPDATE), so any
        // reason means all the tables named may be written.
        if profile.statements > 1, profile.primaryReason != nil {
            var names: [String] = []
            for r in profile.relations where !names.contains(r.name) { names.append(r.name) }
            for f in profile.functions where volatile.contains(f.name) || volatile.contains(f.description) { return .anything }
            return names.isEmpty || profile.primaryReason == .unparsed ? .anything : .tables(names)
        }
        switch profile.primaryReason {
        case nil, .lockingRead, .transactionID, .advisoryLock, .notify, .listen, .lock, .sequence:
            // A read; but a function it calls may write anywhere.
            for f in profile.functions where volatile.contains(f.name) || volatile.contains(f.description) { return .anything }
            return .none
        case .write, .selectInto, .copyFrom, .ddl, .maintenance:
            var names: [String] = []
            for r in profile.relations where !names.contains(r.name) { names.append(r.name) }
            for f in profile.functions where volatile.contains(f.name) || volatile.contains(f.description) { return .anything }
            // DDL with no table named (CREATE FUNCTION, ALTER DEFAULT PRIVILEGES...) may change what any read returns.
            return names.isEmpty ? .anything : .tables(names)
        case .doBlock, .call, .sqlPrepare, .unparsed, .volatileFunction, .explainAnalyzeWrite, .largeObject:
            return .anything
        }
    }
}
