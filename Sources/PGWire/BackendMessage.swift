// Typed backend (server to client) messages of protocol 3.0.
import NIOCore

public enum BackendMessage: Equatable, Sendable {
    case authentication(AuthenticationRequest)
    case backendKeyData(processID: Int32, secretKey: Int32)
    case bindComplete
    case closeComplete
    case commandComplete(tag: String)
    case copyData(ByteBuffer)
    case copyDone
    case copyInResponse(format: Int8, columnFormats: [Int16])
    case copyOutResponse(format: Int8, columnFormats: [Int16])
    case copyBothResponse(format: Int8, columnFormats: [Int16])
    case dataRow([ByteBuffer?])
    case emptyQueryResponse
    case errorResponse(ErrorFields)
    case functionCallResponse(ByteBuffer?)
    /// PostgreSQL fills the first field with its whole newest version (major << 16 | minor), although the protocol
    /// documentation calls it the newest minor; clients from libpq 18 on read it that way and refuse anything below 3.0.
    case negotiateProtocolVersion(newestVersion: Int32, unrecognizedOptions: [String])
    case noData
    case noticeResponse(ErrorFields)
    case notificationResponse(processID: Int32, channel: String, payload: String)
    case parameterDescription([UInt32])
    case parameterStatus(name: String, value: String)
    case parseComplete
    case portalSuspended
    case readyForQuery(TransactionStatus)
    case rowDescription([FieldDescription])

    public enum Code {
        public static let authentication: UInt8 = 0x52  // R
        public static let backendKeyData: UInt8 = 0x4B  // K
        public static let bindComplete: UInt8 = 0x32  // 2
        public static let closeComplete: UInt8 = 0x33  // 3
        public static let commandComplete: UInt8 = 0x43  // C
        public static let copyData: UInt8 = 0x64  // d
        public static let copyDone: UInt8 = 0x63  // c
        public static let copyInResponse: UInt8 = 0x47  // G
        public static let copyOutResponse: UInt8 = 0x48  // H
        public static let copyBothResponse: UInt8 = 0x57  // W
        public static let dataRow: UInt8 = 0x44  // D
        public static let emptyQueryResponse: UInt8 = 0x49  // I
        public static let errorResponse: UInt8 = 0x45  // E
        public static let functionCallResponse: UInt8 = 0x56  // V
        public static let negotiateProtocolVersion: UInt8 = 0x76  // v
        public static let noData: UInt8 = 0x6E  // n
        public static let noticeResponse: UInt8 = 0x4E  // N
        public static let notificationResponse: UInt8 = 0x41  // A
        public static let parameterDescription: UInt8 = 0x74  // t
        public static let parameterStatus: UInt8 = 0x53  // S
        public static let parseComplete: UInt8 = 0x31  // 1
        public static let portalSuspended: UInt8 = 0x73  // s
        public static let readyForQuery: UInt8 = 0x5A  // Z
        public static let rowDescription: UInt8 = 0x54  // T
    }

    public var typeCode: UInt8 {
        switch self {
        case .authentication: Code.authentication
        case .backendKeyData: Code.backendKeyData
        case .bindComplete: Code.bindComplete
        case .closeComplete: Code.closeComplete
        case .commandComplete: Code.commandComplete
        case .copyData: Code.copyData
        case .copyDone: Code.copyDone
        case .copyInResponse: Code.copyInResponse
        case .copyOutResponse: Code.copyOutResponse
        case .copyBothResponse: Code.copyBothResponse
        case .dataRow: Code.dataRow
        case .emptyQueryResponse: Code.emptyQueryResponse
        case .errorResponse: Code.errorResponse
        case .functionCallResponse: Code.functionCallResponse
        case .negotiateProtocolVersion: Code.negotiateProtocolVersion
        case .noData: Code.noData
        case .noticeResponse: Code.noticeResponse
        case .notificationResponse: Code.notificationResponse
        case .parameterDescription: Code.parameterDescription
        case .parameterStatus: Code.parameterStatus
        case .parseComplete: Code.parseComplete
        case .portalSuspended: Code.portalSuspended
        case .readyForQuery: Code.readyForQuery
        case .rowDescription: Code.rowDescription
        }
    }

    public static func decode(type: UInt8, body: ByteBuffer) throws -> BackendMessage {
        var b = body
        let message: BackendMessage
        switch type {
        case Code.authentication:
            message = .authentication(try AuthenticationRequest.decode(&b))
        case Code.backendKeyData:
            let pid = try b.readInt32("BackendKeyData")
            message = .backendKeyData(processID: pid, secretKey: try b.readInt32("BackendKeyData"))
        case Code.bindComplete: message = .bindComplete
        case Code.closeComplete: message = .closeComplete
        case Code.commandComplete: message = .commandComplete(tag: try b.readCString("CommandComplete"))
        case Code.copyData:
            message = .copyData(b)
            b.moveReaderIndex(to: b.writerIndex)
        case Code.copyDone: message = .copyDone
        case Code.copyInResponse, Code.copyOutResponse, Code.copyBothResponse:
            let format = Int8(bitPattern: try b.readUInt8("Copy response format"))
            let columns = try readInt16Array(&b, "Copy response column formats")
            switch type {
            case Code.copyInResponse: message = .copyInResponse(format: format, columnFormats: columns)
            case Code.copyOutResponse: message = .copyOutResponse(format: format, columnFormats: columns)
            default: message = .copyBothResponse(format: format, columnFormats: columns)
            }
        case Code.dataRow:
            let count = try b.readInt16("DataRow column count")
            guard count >= 0 else { throw ProtocolViolation("DataRow: negative column count") }
            var columns: [ByteBuffer?] = []
            columns.reserveCapacity(Int(count))
            for _ in 0..<count { columns.append(try b.readNullableBytes("DataRow column")) }
            message = .dataRow(columns)
        case Code.emptyQueryResponse: message = .emptyQueryResponse
        case Code.errorResponse: message = .errorResponse(try ErrorFields.decode(&b))
        case Code.noticeResponse: message = .noticeResponse(try ErrorFields.decode(&b))
        case Code.functionCallResponse: message = .functionCallResponse(try b.readNullableBytes("FunctionCallResponse"))
        case Code.negotiateProtocolVersion:
            let version = try b.readInt32("NegotiateProtocolVersion")
            let count = try b.readInt32("NegotiateProtocolVersion option count")
            guard count >= 0 else { throw ProtocolViolation("NegotiateProtocolVersion: negative option count") }
            var options: [String] = []
            for _ in 0..<count { options.append(try b.readCString("NegotiateProtocolVersion option")) }
            message = .negotiateProtocolVersion(newestVersion: version, unrecognizedOptions: options)
        case Code.noData: message = .noData
        case Code.notificationResponse:
            let pid = try b.readInt32("NotificationResponse")
            let channel = try b.readCString("NotificationResponse channel")
            message = .notificationResponse(processID: pid, channel: channel, payload: try b.readCString("NotificationResponse payload"))
        case Code.parameterDescription:
            let count = try b.readInt16("ParameterDescription count")
            guard count >= 0 else { throw ProtocolViolation("ParameterDescription: negative count") }
            var types: [UInt32] = []
            for _ in 0..<count { types.append(try b.readUInt32("ParameterDescription type")) }
            message = .parameterDescription(types)
        case Code.parameterStatus:
            let name = try b.readCString("ParameterStatus name")
            message = .parameterStatus(name: name, value: try b.readCString("ParameterStatus value"))
        case Code.parseComplete: message = .parseComplete
        case Code.portalSuspended: message = .portalSuspended
        case Code.readyForQuery:
            let raw = try b.readUInt8("ReadyForQuery")
            guard let status = TransactionStatus(rawValue: raw) else {
                throw ProtocolViolation("ReadyForQuery: invalid status \(describeType(raw))")
            }
            message = .readyForQuery(status)
        case Code.rowDescription:
            let count = try b.readInt16("RowDescription count")
            guard count >= 0 else { throw ProtocolViolation("RowDescription: negative count") }
            var fields: [FieldDescription] = []
            fields.reserveCapacity(Int(count))
            for _ in 0..<count { fields.append(try FieldDescription.decode(&b)) }
            message = .rowDescription(fields)
        default:
            throw ProtocolViolation("unknown backend message type \(describeType(type))")
        }
        try b.expectFullyRead("backend message \(describeType(type))")
        return message
    }

    public func encode(into out: inout ByteBuffer) {
        out.writeFrame(typeCode) { b in
            switch self {
            case .authentication(let request):
                request.encode(into: &b)
            case .backendKeyData(let pid, let secret):
                b.writeInteger(pid)
                b.writeInteger(secret)
            case .commandComplete(let tag):
                b.writeCString(tag)
            case .copyData(var data):
                b.writeBuffer(&data)
            case .copyInResponse(let format, let columns), .copyOutResponse(let format, let columns),
                .copyBothResponse(let format, let columns):
                b.writeInteger(UInt8(bitPattern: format))
                writeInt16Array(&b, columns)
            case .dataRow(let columns):
                b.writeInteger(Int16(columns.count))
                for c in columns { b.writeNullableBytes(c) }
            case .errorResponse(let fields), .noticeResponse(let fields):
                fields.encode(into: &b)
            case .functionCallResponse(let value):
                b.writeNullableBytes(value)
            case .negotiateProtocolVersion(let version, let options):
                b.writeInteger(version)
                b.writeInteger(Int32(options.count))
                for o in options { b.writeCString(o) }
            case .notificationResponse(let pid, let channel, let payload):
                b.writeInteger(pid)
                b.writeCString(channel)
                b.writeCString(payload)
            case .parameterDescription(let types):
                b.writeInteger(Int16(types.count))
                for t in types { b.writeInteger(t) }
            case .parameterStatus(let name, let value):
                b.writeCString(name)
                b.writeCString(value)
            case .readyForQuery(let status):
                b.writeInteger(status.rawValue)
            case .rowDescription(let fields):
                b.writeInteger(Int16(fields.count))
                for f in fields { f.encode(into: &b) }
            case .bindComplete, .closeComplete, .copyDone, .emptyQueryResponse, .noData, .parseComplete, .portalSuspended:
                break
            }
        }
    }
}

/// The transaction status carried by ReadyForQuery.
public enum TransactionStatus: UInt8, Sendable {
    case idle = 0x49  // I
    case inTransaction = 0x54  // T
    case failedTransaction = 0x45  // E
}

public struct FieldDescription: Equatable, Sendable {
    public var name: String
    public var tableOID: UInt32
    public var columnAttribute: Int16
    public var typeOID: UInt32
    public var typeSize: Int16
    public var typeModifier: Int32
    public var format: Int16

    public init(name: String, tableOID: UInt32 = 0, columnAttribute: Int16 = 0, typeOID: UInt32, typeSize: Int16, typeModifier: Int32 = -1, format: Int16 = 0) {
        self.name = name
        self.tableOID = tableOID
        self.columnAttribute = columnAttribute
        self.typeOID = typeOID
        self.typeSize = typeSize
        self.typeModifier = typeModifier
        self.format = format
    }

    static func decode(_ b: inout ByteBuffer) throws -> FieldDescription {
        FieldDescription(
            name: try b.readCString("RowDescription field name"),
            tableOID: try b.readUInt32("RowDescription field"),
            columnAttribute: try b.readInt16("RowDescription field"),
            typeOID: try b.readUInt32("RowDescription field"),
            typeSize: try b.readInt16("RowDescription field"),
            typeModifier: try b.readInt32("RowDescription field"),
            format: try b.readInt16("RowDescription field"))
    }

    func encode(into b: inout ByteBuffer) {
        b.writeCString(name)
        b.writeInteger(tableOID)
        b.writeInteger(columnAttribute)
        b.writeInteger(typeOID)
        b.writeInteger(typeSize)
        b.writeInteger(typeModifier)
        b.writeInteger(format)
    }
}
