// Typed frontend (client to server) messages of protocol 3.0 after the startup packet.
import NIOCore

public enum FrontendMessage: Equatable, Sendable {
    public enum TargetKind: UInt8, Sendable {
        case statement = 0x53  // 'S'
        case portal = 0x50  // 'P'
    }

    case bind(portal: String, statement: String, parameterFormats: [Int16], parameters: [ByteBuffer?], resultFormats: [Int16])
    case close(TargetKind, name: String)
    case copyData(ByteBuffer)
    case copyDone
    case copyFail(message: String)
    case describe(TargetKind, name: String)
    case execute(portal: String, maxRows: Int32)
    case flush
    case functionCall(oid: UInt32, argumentFormats: [Int16], arguments: [ByteBuffer?], resultFormat: Int16)
    case parse(name: String, query: String, parameterTypes: [UInt32])
    /// PasswordMessage, SASLInitialResponse, SASLResponse and GSSResponse share the type 'p';
    /// which one it is depends on the authentication request that came before (see `AuthResponse`).
    case authenticationResponse(ByteBuffer)
    case query(String)
    case sync
    case terminate

    public enum Code {
        public static let bind: UInt8 = 0x42  // B
        public static let close: UInt8 = 0x43  // C
        public static let copyData: UInt8 = 0x64  // d
        public static let copyDone: UInt8 = 0x63  // c
        public static let copyFail: UInt8 = 0x66  // f
        public static let describe: UInt8 = 0x44  // D
        public static let execute: UInt8 = 0x45  // E
        public static let flush: UInt8 = 0x48  // H
        public static let functionCall: UInt8 = 0x46  // F
        public static let parse: UInt8 = 0x50  // P
        public static let authenticationResponse: UInt8 = 0x70  // p
        public static let query: UInt8 = 0x51  // Q
        public static let sync: UInt8 = 0x53  // S
        public static let terminate: UInt8 = 0x58  // X
    }

    public var typeCode: UInt8 {
        switch self {
        case .bind: Code.bind
        case .close: Code.close
        case .copyData: Code.copyData
        case .copyDone: Code.copyDone
        case .copyFail: Code.copyFail
        case .describe: Code.describe
        case .execute: Code.execute
        case .flush: Code.flush
        case .functionCall: Code.functionCall
        case .parse: Code.parse
        case .authenticationResponse: Code.authenticationResponse
        case .query: Code.query
        case .sync: Code.sync
        case .terminate: Code.terminate
        }
    }

    public static func decode(type: UInt8, body: ByteBuffer) throws -> FrontendMessage {
        var b = body
        let message: FrontendMessage
        switch type {
        case Code.bind:
            let portal = try b.readCString("Bind portal")
            let statement = try b.readCString("Bind statement")
            let formats = try readInt16Array(&b, "Bind parameter formats")
            let count = try b.readInt16("Bind parameter count")
            guard count >= 0 else { throw ProtocolViolation("Bind: negative parameter count") }
            var params: [ByteBuffer?] = []
            params.reserveCapacity(Int(count))
            for _ in 0..<count { params.append(try b.readNullableBytes("Bind parameter")) }
            let results = try readInt16Array(&b, "Bind result formats")
            message = .bind(portal: portal, statement: statement, parameterFormats: formats, parameters: params, resultFormats: results)
        case Code.close:
            let kind = try readTargetKind(&b, "Close")
            message = .close(kind, name: try b.readCString("Close name"))
        case Code.copyData:
            message = .copyData(b)
            b.moveReaderIndex(to: b.writerIndex)
        case Code.copyDone:
            message = .copyDone
        case Code.copyFail:
            message = .copyFail(message: try b.readCString("CopyFail"))
        case Code.describe:
            let kind = try readTargetKind(&b, "Describe")
            message = .describe(kind, name: try b.readCString("Describe name"))
        case Code.execute:
            let portal = try b.readCString("Execute portal")
            message = .execute(portal: portal, maxRows: try b.readInt32("Execute max rows"))
        case Code.flush:
            message = .flush
        case Code.functionCall:
            let oid = try b.readUInt32("FunctionCall oid")
            let formats = try readInt16Array(&b, "FunctionCall argument formats")
            let count = try b.readInt16("FunctionCall argument count")
            guard count >= 0 else { throw ProtocolViolation("FunctionCall: negative argument count") }
            var args: [ByteBuffer?] = []
            for _ in 0..<count { args.append(try b.readNullableBytes("FunctionCall argument")) }
            message = .functionCall(oid: oid, argumentFormats: formats, arguments: args, resultFormat: try b.readInt16("FunctionCall result format"))
        case Code.parse:
            let name = try b.readCString("Parse name")
            let query = try b.readCString("Parse query")
            let count = try b.readInt16("Parse parameter count")
            guard count >= 0 else { throw ProtocolViolation("Parse: negative parameter count") }
            var types: [UInt32] = []
            types.reserveCapacity(Int(count))
            for _ in 0..<count { types.append(try b.readUInt32("Parse parameter type")) }
            message = .parse(name: name, query: query, parameterTypes: types)
        case Code.authenticationResponse:
            message = .authenticationResponse(b)
            b.moveReaderIndex(to: b.writerIndex)
        case Code.query:
            message = .query(try b.readCString("Query"))
        case Code.sync:
            message = .sync
        case Code.terminate:
            message = .terminate
        default:
            throw ProtocolViolation("unknown frontend message type \(describeType(type))")
        }
        try b.expectFullyRead("frontend message \(describeType(type))")
        return message
    }

    public func encode(into out: inout ByteBuffer) {
        out.writeFrame(typeCode) { b in
            switch self {
            case .bind(let portal, let statement, let formats, let params, let results):
                b.writeCString(portal)
                b.writeCString(statement)
                writeInt16Array(&b, formats)
                b.writeInteger(Int16(params.count))
                for p in params { b.writeNullableBytes(p) }
                writeInt16Array(&b, results)
            case .close(let kind, let name), .describe(let kind, let name):
                b.writeInteger(kind.rawValue)
                b.writeCString(name)
            case .copyData(var data), .authenticationResponse(var data):
                b.writeBuffer(&data)
            case .copyFail(let message):
                b.writeCString(message)
            case .execute(let portal, let maxRows):
                b.writeCString(portal)
                b.writeInteger(maxRows)
            case .functionCall(let oid, let formats, let args, let resultFormat):
                b.writeInteger(oid)
                writeInt16Array(&b, formats)
                b.writeInteger(Int16(args.count))
                for a in args { b.writeNullableBytes(a) }
                b.writeInteger(resultFormat)
            case .parse(let name, let query, let types):
                b.writeCString(name)
                b.writeCString(query)
                b.writeInteger(Int16(types.count))
                for t in types { b.writeInteger(t) }
            case .query(let text):
                b.writeCString(text)
            case .copyDone, .flush, .sync, .terminate:
                break
            }
        }
    }
}

@inlinable
func readInt16Array(_ b: inout ByteBuffer, _ what: String) throws -> [Int16] {
    let count = try b.readInt16(what)
    guard count >= 0 else { throw ProtocolViolation("\(what): negative count") }
    var values: [Int16] = []
    values.reserveCapacity(Int(count))
    for _ in 0..<count { values.append(try b.readInt16(what)) }
    return values
}

@inlinable
func writeInt16Array(_ b: inout ByteBuffer, _ values: [Int16]) {
    b.writeInteger(Int16(values.count))
    for v in values { b.writeInteger(v) }
}

private func readTargetKind(_ b: inout ByteBuffer, _ what: String) throws -> FrontendMessage.TargetKind {
    let raw = try b.readUInt8(what)
    guard let kind = FrontendMessage.TargetKind(rawValue: raw) else {
        throw ProtocolViolation("\(what): invalid target kind \(describeType(raw))")
    }
    return kind
}

/// A message type byte as a reader would want it in an error: 'Q' or 0x07.
public func describeType(_ type: UInt8) -> String {
    if type >= 0x20 && type < 0x7f { return "'\(Character(Unicode.Scalar(type)))'" }
    return "0x" + String(type, radix: 16)
}
