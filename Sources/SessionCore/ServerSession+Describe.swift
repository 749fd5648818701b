// The answers to Describes of shared statements, read as shapes the client side compares with what its client saw.
import NIOCore
import PGWire

extension ServerSession {
    /// A reply frame while a Describe of `statement` is the reply owed next: its ParameterDescription starts the shape,
    /// its RowDescription or NoData completes it. Failures come from the reply queue (`takeDescribed`).
    mutating func describes(_ statement: Int, token: Int?, _ type: UInt8, _ body: ByteBuffer) {
        switch type {
        case BackendMessage.Code.parameterDescription:
            describing = StatementShape(parameterDescription: body)
        case BackendMessage.Code.rowDescription, BackendMessage.Code.noData:
            let shape = (describing ?? StatementShape()).adding(rowDescription: type == BackendMessage.Code.rowDescription ? body : nil)
            describing = nil
            described.append(DescribedStatement(statement: statement, token: token, shape: shape))
        default:
            break
        }
    }

    /// Something to tell the client although no byte may be for it (pgswift's own Describe is answered out of sight).
    public var hasDescribed: Bool { !described.isEmpty || replies.hasUnansweredDescribes }

    /// Since the last call: first the statements whose Describe failed or was skipped (no shape), then those described,
    /// in the order answered. The order between the two does not matter: each Describe is in one list or the other.
    mutating func takeDescribed() -> [DescribedStatement] {
        var all = replies.takeUnansweredDescribes()
        guard !described.isEmpty else { return all }
        if all.isEmpty {
            swap(&all, &described)
        } else {
            all.append(contentsOf: described)
            described.removeAll()
        }
        return all
    }
}
