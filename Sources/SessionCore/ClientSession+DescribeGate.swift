// What the linked server said of statements it described: remembered, and the frames held for one let go.
import NIOCore
import PGWire

extension ClientSession {
    /// True while frames wait for a statement's description on the server.
    var waitsForDescription: Bool { gate.holding }

    /// Answers to Describes of shared statements on the linked server (`statements`), as ServerSession lists them: each
    /// shape is the server's (and, for the client's own Describe, the client's); the one a held Bind waits for lets
    /// the held frames through the rewriter, into `outgoing` and `expected` for the handler to send. Throws when a
    /// held frame is malformed, as relaying it would have.
    public mutating func described<Catalog: StatementInterning>(_ answers: [DescribedStatement], statements: inout ServerStatementCache,
                                                               catalog: Catalog) throws {
        for answer in answers {
            if let shape = answer.shape { statements.setShape(shape, of: answer.statement) }
            if answer.token != nil {
                rewriter.learned(answer)
            } else if gate.statement == answer.statement {
                try openGate(shape: answer.shape, statements: &statements, catalog: catalog)
            }
        }
    }

    /// The held frames go on, rewritten now that the server's shape of the statement is known. Without one (the
    /// Describe failed or was skipped after an error, which the client has been told) the server skips everything up
    /// to the next Sync, so those frames are not sent at all: nothing they would change happens, as in PostgreSQL, and
    /// no statement is counted on the server for a Parse it will skip.
    private mutating func openGate<Catalog: StatementInterning>(shape: StatementShape?, statements: inout ServerStatementCache,
                                                               catalog: Catalog) throws {
        let items = gate.open()
        var skipping = shape == nil
        if let shape, let name = DescribeGate.describesPortal(items) { rewriter.adopt(shape: shape, for: name) }
        for i in items.indices {
            if skipping {
                guard case .frame(FrontendMessage.Code.sync, _, _) = items[i] else { continue }
                skipping = false
            }
            switch items[i] {
            case .bytes(let b):
                outgoing.append(b)
            case .frame(let type, let body, let dropsStatements):
                let rewritten = try rewriteFrame(type, body, dropsStatements: dropsStatements, statements: &statements, catalog: catalog)
                if rewritten == .pass { outgoing.append(ServerSession.frame(type, body)) }
                outgoing.append(contentsOf: replacement)
                replacement.removeAll(keepingCapacity: true)
                if case .waits(let statement) = rewritten {
                    // Another Bind waits for a description: what asks for it went now, the rest is held again.
                    gate.close(for: statement, holding: items[i...])
                    return
                }
            }
        }
    }
}
