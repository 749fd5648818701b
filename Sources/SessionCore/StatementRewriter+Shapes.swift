// A Bind of a statement whose columns the client knows goes only to a server statement of the same shape: otherwise
// the client decodes rows by a description they no longer fit.
import NIOCore
import PGWire

/// What a Bind of a statement the client described may do on the linked server.
enum BindCheck {
    /// The server's statement has the shape the client knows: bound at once.
    case now
    /// It has another: the client hears PostgreSQL's "cached plan must not change result type", raised by the server.
    case failed
    /// Its shape on this server is unknown (or it is being prepared there only now): a Describe of it was sent; the
    /// Bind and all after it wait for the answer (`Rewritten.waits`), then go through the rewriter again.
    case afterDescribe
}

extension StatementRewriter {
    /// PostgreSQL fixes a prepared statement's parameter types and result columns when it is prepared and fails a
    /// Bind when re-planning would change them. A shared statement prepared on a server after DDL has the new ones, so
    /// for a client that described the statement before, its Bind on such a server fails in the same way. Shapes are
    /// remembered per server, so the round trip is paid once per server and statement, and never when the client's
    /// own Describe or an earlier check told the server's shape.
    mutating func bindable(_ s: ClientStatement, seen: StatementShape, on server: inout ServerStatementCache, retired: (Int) -> Bool,
                           changed: (Int) -> Void, out: inout [ByteBuffer], replies: inout [PendingReply]) -> BindCheck {
        // A retired statement fails at once, as for any Bind; one prepared only now has no shape here yet.
        guard ensurePrepared(s, on: &server, retired: retired, out: &out, replies: &replies) else { return .failed }
        if let here = server.shape(of: s.id) {
            if here == seen { return .now }
            // The text's statement as the client knew it is gone (the catalog retires it): preparing the text again
            // gives a fresh one, as after PostgreSQL's own failure.
            changed(s.id)
            _ = raise(SQLState.featureNotSupported, RaisedError.stalePlan, out: &out, replies: &replies)
            return .failed
        }
        // PostgreSQL keeps extended-protocol replies until a Sync or Flush: without the Flush the answer never comes.
        out.append(encode(.describe(.statement, name: server.name(of: s.id))))
        out.append(encode(.flush))
        replies.append(.describeStatement(statement: s.id, token: nil))
        return .afterDescribe
    }

    /// A new link: the client's Describes a link that ended early left unanswered never will be.
    mutating func linkStarted() {
        if !describing.isEmpty { describing.removeAll() }
    }

    /// The answer to one of the client's own Describes: what it now decodes that statement's rows by.
    public mutating func learned(_ answer: DescribedStatement) {
        guard let token = answer.token, let name = describing.removeValue(forKey: token), let shape = answer.shape,
              statements[name]?.id == answer.statement else { return }
        statements[name]?.shape = shape
    }

    /// The client learns the statement's current columns in the batch that binds it (a Describe of the portal before
    /// its Execute): what it knew before no longer counts.
    public mutating func adopt(shape: StatementShape, for name: String) {
        statements[name]?.shape = shape
    }
}
