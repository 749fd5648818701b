// Writes a command as a RESP array of bulk strings: length-prefixed, so any bytes (CR LF, NUL) are safe in arguments.
import NIOCore

enum RESPEncoder {
    static func write(_ arguments: [ByteBuffer], into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "*"))
        writeDecimal(arguments.count, into: &buffer)
        for argument in arguments {
            buffer.writeInteger(UInt8(ascii: "$"))
            writeDecimal(argument.readableBytes, into: &buffer)
            buffer.writeImmutableBuffer(argument)
            buffer.writeStaticString("\r\n")
        }
    }

    /// The byte count an encoded command needs, so the buffer is allocated once.
    static func encodedSize(_ arguments: [ByteBuffer]) -> Int {
        arguments.reduce(16) { $0 + $1.readableBytes + 16 }
    }

    private static func writeDecimal(_ value: Int, into buffer: inout ByteBuffer) {
        buffer.writeString(String(value))
        buffer.writeStaticString("\r\n")
    }
}
