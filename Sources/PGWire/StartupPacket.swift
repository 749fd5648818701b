// The untyped packets a client may send first: StartupMessage, SSLRequest, GSSENCRequest, CancelRequest.
import NIOCore

public enum StartupPacket: Equatable, Sendable {
    /// StartupMessage: protocol version and the (name, value) parameters in wire order.
    case startup(major: UInt16, minor: UInt16, parameters: [StartupParameter])
    case sslRequest
    case gssEncRequest
    case cancel(processID: Int32, secretKey: Int32)

    public static let sslRequestCode: Int32 = 80_877_103
    public static let gssEncRequestCode: Int32 = 80_877_104
    public static let cancelRequestCode: Int32 = 80_877_102
    /// Shortest possible packet: the length plus a version or request code.
    public static let minimumLength = 8

    /// Decodes the body, i.e. the bytes after the 4-byte length.
    public static func decode(body: ByteBuffer) throws -> StartupPacket {
        var b = body
        let code = try b.readInt32("startup packet")
        let packet: StartupPacket
        switch code {
        case sslRequestCode:
            packet = .sslRequest
        case gssEncRequestCode:
            packet = .gssEncRequest
        case cancelRequestCode:
            let pid = try b.readInt32("CancelRequest")
            packet = .cancel(processID: pid, secretKey: try b.readInt32("CancelRequest"))
        default:
            let major = UInt16(truncatingIfNeeded: code >> 16)
            let minor = UInt16(truncatingIfNeeded: code)
            var params: [StartupParameter] = []
            while true {
                let name = try b.readCString("StartupMessage parameter name")
                if name.isEmpty { break }
                params.append(StartupParameter(name: name, value: try b.readCString("StartupMessage parameter \(name)")))
            }
            packet = .startup(major: major, minor: minor, parameters: params)
        }
        try b.expectFullyRead("startup packet")
        return packet
    }

    /// Writes the length and the body.
    public func encode(into out: inout ByteBuffer) {
        let lengthIndex = out.writerIndex
        out.writeInteger(Int32(0))
        switch self {
        case .sslRequest:
            out.writeInteger(Self.sslRequestCode)
        case .gssEncRequest:
            out.writeInteger(Self.gssEncRequestCode)
        case .cancel(let pid, let secret):
            out.writeInteger(Self.cancelRequestCode)
            out.writeInteger(pid)
            out.writeInteger(secret)
        case .startup(let major, let minor, let params):
            out.writeInteger(major)
            out.writeInteger(minor)
            for p in params {
                out.writeCString(p.name)
                out.writeCString(p.value)
            }
            out.writeInteger(UInt8(0))
        }
        out.setInteger(Int32(out.writerIndex - lengthIndex), at: lengthIndex)
    }
}

public struct StartupParameter: Equatable, Sendable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}
