// The Authentication* family of backend messages (type 'R'), one case per request code.
import NIOCore

public enum AuthenticationRequest: Equatable, Sendable {
    case ok
    case kerberosV5
    case cleartextPassword
    case md5Password(salt: UInt32)
    case gss
    case gssContinue(ByteBuffer)
    case sspi
    case sasl(mechanisms: [String])
    case saslContinue(ByteBuffer)
    case saslFinal(ByteBuffer)

    static func decode(_ b: inout ByteBuffer) throws -> AuthenticationRequest {
        let code = try b.readInt32("Authentication request")
        switch code {
        case 0: return .ok
        case 2: return .kerberosV5
        case 3: return .cleartextPassword
        case 5: return .md5Password(salt: try b.readUInt32("AuthenticationMD5Password salt"))
        case 7: return .gss
        case 8: return .gssContinue(b.readSlice(length: b.readableBytes)!)
        case 9: return .sspi
        case 10:
            var mechanisms: [String] = []
            while true {
                let m = try b.readCString("AuthenticationSASL mechanism")
                if m.isEmpty { break }
                mechanisms.append(m)
            }
            return .sasl(mechanisms: mechanisms)
        case 11: return .saslContinue(b.readSlice(length: b.readableBytes)!)
        case 12: return .saslFinal(b.readSlice(length: b.readableBytes)!)
        default: throw ProtocolViolation("unknown authentication request code \(code)")
        }
    }

    func encode(into b: inout ByteBuffer) {
        switch self {
        case .ok: b.writeInteger(Int32(0))
        case .kerberosV5: b.writeInteger(Int32(2))
        case .cleartextPassword: b.writeInteger(Int32(3))
        case .md5Password(let salt):
            b.writeInteger(Int32(5))
            b.writeInteger(salt)
        case .gss: b.writeInteger(Int32(7))
        case .gssContinue(var data):
            b.writeInteger(Int32(8))
            b.writeBuffer(&data)
        case .sspi: b.writeInteger(Int32(9))
        case .sasl(let mechanisms):
            b.writeInteger(Int32(10))
            for m in mechanisms { b.writeCString(m) }
            b.writeInteger(UInt8(0))
        case .saslContinue(var data):
            b.writeInteger(Int32(11))
            b.writeBuffer(&data)
        case .saslFinal(var data):
            b.writeInteger(Int32(12))
            b.writeBuffer(&data)
        }
    }
}
