// The client's side of retrying a Bind that failed with "cached plan must not change result type": its last batch,
// kept until answered, is sent once more after every shared statement is marked for preparing anew.
import NIOCore
import PGWire
import PoolCore

extension ClientConnection {
    /// Asked by the linked server after the batch's Bind failed with a stale cached plan and the server held the
    /// failure back (`answered`: its ReadyForQuery count without that one). The batch as it must go again, or nil to
    /// let the failure through: only if it is this client's one outstanding request and was not retried already.
    func batchForRetry(on server: ServerConnection, answered: Int) -> ([ByteBuffer], [PendingReply])? {
        guard linkedServer === server, tracker.sent == answered + 1, !tracker.unsynced, splitter.atFrameBoundary,
              lastBatch.replayable else { return nil }
        lastBatch.markRetried()
        // The DDL happened elsewhere, so which statements it touched is unknown: every shared statement is prepared
        // anew on its next use, on every server (this Bind's first, by the rewriter, just below).
        runtime.statementCatalog.schemaChanged()
        server.statements.schemaEpoch = runtime.statementCatalog.schemaEpoch
        var out: [ByteBuffer] = [], replies: [PendingReply] = []
        do {
            for (type, body) in lastBatch.frames {
                let verdict = try rewriter.rewrite(type: type, body: body, server: &server.statements, intern: runtime.statementCatalog.id(for:),
                                                   out: &out, replies: &replies)
                if verdict == .pass { out.append(ServerConnection.frame(type, body)) }
            }
        } catch {
            return nil
        }
        return (out, replies)
    }
}
