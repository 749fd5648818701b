// What an admin command answers: a table, a command tag, a notice, an error or nothing, and how each goes on the wire.
import NIOCore
import PGWire

public enum AdminReply: Sendable {
    case table(AdminTable, tag: String = "SHOW")
    case done(tag: String)
    case notice(message: String, detail: String?, tag: String)
    case error(PGError)
    /// Nothing is sent: the process is going away (SHUTDOWN).
    case silent

    public func encode(into out: inout ByteBuffer) {
        switch self {
        case .table(let table, let tag):
            let fields = table.columns.map { FieldDescription(name: $0.name, typeOID: $0.type.rawValue, typeSize: $0.type.size) }
            BackendMessage.rowDescription(fields).encode(into: &out)
            for row in table.rows {
                BackendMessage.dataRow(row.map { $0.map { ByteBuffer(string: $0) } }).encode(into: &out)
            }
            BackendMessage.commandComplete(tag: tag).encode(into: &out)
        case .done(let tag):
            BackendMessage.commandComplete(tag: tag).encode(into: &out)
        case .notice(let message, let detail, let tag):
            var f: [(code: UInt8, value: String)] = [(UInt8(ascii: "S"), Severity.notice), (UInt8(ascii: "C"), SQLState.successfulCompletion), (UInt8(ascii: "M"), message)]
            if let detail { f.append((UInt8(ascii: "D"), detail)) }
            BackendMessage.noticeResponse(ErrorFields(f)).encode(into: &out)
            BackendMessage.commandComplete(tag: tag).encode(into: &out)
        case .error(let e):
            e.encode(into: &out)
        case .silent:
            return
        }
        BackendMessage.readyForQuery(.idle).encode(into: &out)
    }
}
