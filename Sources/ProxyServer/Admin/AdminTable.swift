// What an admin command answers: a table, a command tag, a notice, or an error, and how each goes on the wire.
import NIOCore
import PGWire

/// Column types PgBouncer's console uses (text, int4, int8, numeric), by OID.
enum AdminType: UInt32, Sendable {
    case text = 25
    case int4 = 23
    case int8 = 20
    case numeric = 1700

    var size: Int16 {
        switch self {
        case .int4: 4
        case .int8: 8
        case .text, .numeric: -1
        }
    }
}

struct AdminTable: Sendable {
    var columns: [(name: String, type: AdminType)]
    var rows: [[String?]] = []

    init(_ columns: [(String, AdminType)]) {
        self.columns = columns.map { (name: $0.0, type: $0.1) }
    }

    mutating func add(_ values: [AdminValue]) {
        rows.append(values.map(\.text))
    }
}

/// One cell: anything the console prints, or NULL.
enum AdminValue: Sendable {
    case text(String)
    case int(Int)
    case null

    var text: String? {
        switch self {
        case .text(let s): s
        case .int(let n): String(n)
        case .null: nil
        }
    }
}

extension AdminValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    init(stringLiteral value: String) { self = .text(value) }
    init(integerLiteral value: Int) { self = .int(value) }
}

enum AdminReply: Sendable {
    case table(AdminTable, tag: String = "SHOW")
    case done(tag: String)
    case notice(message: String, detail: String?, tag: String)
    case error(PGError)
    /// Nothing is sent: the process is going away (SHUTDOWN).
    case silent

    func encode(into out: inout ByteBuffer) {
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
