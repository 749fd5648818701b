// Protocol bytes for the handler tests: messages encoded with PGWire, and what a channel wrote read back as messages.
import NIOCore
import PGWire
import Testing

enum Wire {
    static func bytes(_ messages: [FrontendMessage]) -> ByteBuffer {
        var b = ByteBuffer()
        for m in messages { m.encode(into: &b) }
        return b
    }

    static func bytes(_ messages: [BackendMessage]) -> ByteBuffer {
        var b = ByteBuffer()
        for m in messages { m.encode(into: &b) }
        return b
    }

    static func bytes(_ packet: StartupPacket) -> ByteBuffer {
        var b = ByteBuffer()
        packet.encode(into: &b)
        return b
    }

    /// Typed frames, for a readable difference when the bytes are not the expected ones (nil: not a frame sequence).
    static func frontend(_ buffer: ByteBuffer) -> [FrontendMessage]? {
        frames(buffer).flatMap { frames in try? frames.map { try FrontendMessage.decode(type: $0.type, body: $0.body) } }
    }

    static func backend(_ buffer: ByteBuffer) -> [BackendMessage]? {
        frames(buffer).flatMap { frames in try? frames.map { try BackendMessage.decode(type: $0.type, body: $0.body) } }
    }

    private static func frames(_ buffer: ByteBuffer) -> [(type: UInt8, body: ByteBuffer)]? {
        var rest = buffer
        var out: [(type: UInt8, body: ByteBuffer)] = []
        while rest.readableBytes > 0 {
            guard let frame = try? WholeFrameReader.next(&rest, maxLength: 1 << 24) else { return nil }
            out.append(frame)
        }
        return out
    }

    static func error(_ sqlState: String, _ message: String, severity: String = Severity.error) -> BackendMessage {
        .errorResponse(ErrorFields([(UInt8(ascii: "S"), severity), (UInt8(ascii: "V"), severity), (UInt8(ascii: "C"), sqlState),
                                    (UInt8(ascii: "M"), message)]))
    }

    static func row(_ values: String?...) -> BackendMessage {
        .dataRow(values.map { $0.map { ByteBuffer(string: $0) } })
    }

    static func columns(_ names: String...) -> BackendMessage {
        .rowDescription(names.map { FieldDescription(name: $0, typeOID: 23, typeSize: 4) })
    }
}

/// The exact bytes, compared; on a difference the frames of both sides are shown.
func expectBytes(_ actual: ByteBuffer, _ expected: [BackendMessage], sourceLocation: SourceLocation = #_sourceLocation) {
    let want = Wire.bytes(expected)
    #expect(actual == want, "got \(Wire.backend(actual).map { "\($0)" } ?? "\(actual)")", sourceLocation: sourceLocation)
}

func expectBytes(_ actual: ByteBuffer, _ expected: [FrontendMessage], sourceLocation: SourceLocation = #_sourceLocation) {
    let want = Wire.bytes(expected)
    #expect(actual == want, "got \(Wire.frontend(actual).map { "\($0)" } ?? "\(actual)")", sourceLocation: sourceLocation)
}
