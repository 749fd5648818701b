// The client's side of retrying a Bind that failed with "cached plan must not change result type": its last batch,
// kept until answered, is sent once more after every shared statement is marked for preparing anew.
import NIOCore
import PGWire
import PoolCore
import SessionCore

extension ClientConnection {
    /// Asked by the linked server after the batch's Bind failed with a stale cached plan and the server held the
    /// failure back (`answered`: its ReadyForQuery count without that one). The batch as it must go again, or nil to
    /// let the failure through: only if it is this client's one outstanding request and was not retried already.
    func batchForRetry(on server: ServerConnection, answered: Int) -> ([ByteBuffer], [PendingReply])? {
        guard case .linked(let link) = state, link.server === server else { return nil }
        return session.batchForRetry(answered: answered, catalog: runtime.statementCatalog)
    }
}
