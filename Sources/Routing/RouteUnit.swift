// What a unit of work is, read from the statements a client sent before it had a server: one statement, a READ ONLY
// transaction or a transaction that may write, with one profile standing for all of them.
import SQLAnalysis

public enum RouteUnit {
    /// `statements`: the profile and hints of each held statement, in order. `readOnlyDefault`: the session's
    /// default_transaction_read_only is on.
    public static func classify(_ statements: [(profile: StatementProfile, hints: [String])],
                                readOnlyDefault: Bool) -> (unit: RouteRequest.Unit, profile: StatementProfile, hints: [String]) {
        // One statement alone (most units): its own profile, with nothing to merge.
        if statements.count == 1, let (profile, hints) = statements.first {
            var unit = RouteRequest.Unit.statement
            switch profile.transaction {
            case .begin(let ro)?: unit = (ro ?? readOnlyDefault) ? .readOnlyTransaction : .transaction
            case .prepareTransaction?, .commitPrepared?, .rollbackPrepared?:
                var p = profile
                if p.primaryReason == nil { p.primaryReason = .transactionID }
                return (unit, p, hints)
            default: break
            }
            return (unit, profile, hints)
        }
        var merged = StatementProfile()
        var hints: [String] = []
        // The batch's unit is the strongest of the transactions in it: they all run on its server.
        var unit = RouteRequest.Unit.statement
        var current: RouteRequest.Unit?
        func strongest(_ a: RouteRequest.Unit, _ b: RouteRequest.Unit?) -> RouteRequest.Unit {
            guard let b else { return a }
            return a == .transaction || b == .transaction ? .transaction : (a == .readOnlyTransaction || b == .readOnlyTransaction ? .readOnlyTransaction : .statement)
        }
        for (profile, own) in statements {
            hints += own
            switch profile.transaction {
            case .begin(let ro)?:
                unit = strongest(unit, current)
                current = (ro ?? readOnlyDefault) ? .readOnlyTransaction : .transaction
            case .setTransaction(let ro?)? where current != nil:
                current = ro ? .readOnlyTransaction : .transaction
            case .commit?, .rollback?:
                unit = strongest(unit, current)
                current = nil
            case .prepareTransaction?, .commitPrepared?, .rollbackPrepared?:
                // Two-phase commit acts on the primary's own prepared transactions.
                if merged.primaryReason == nil { merged.primaryReason = .transactionID }
            default:
                break
            }
            if merged.primaryReason == nil, let reason = profile.primaryReason { merged.primaryReason = reason }
            merged.relations += profile.relations.filter { !merged.relations.contains($0) }
            merged.functions += profile.functions.filter { !merged.functions.contains($0) }
            merged.statements += profile.statements
            if merged.fingerprint == nil { merged.fingerprint = profile.fingerprint }
        }
        unit = strongest(unit, current)
        if let first = statements.first?.profile.transaction { merged.transaction = first }
        return (unit, merged, hints)
    }
}
