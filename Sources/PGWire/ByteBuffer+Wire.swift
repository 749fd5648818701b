// Reading and writing the primitive field types of the PostgreSQL wire protocol.
import NIOCore

extension ByteBuffer {
    /// Reads a NUL-terminated string or throws if the terminator is missing.
    @inlinable
    public mutating func readCString(_ what: @autoclosure () -> String) throws -> String {
        guard let s = readNullTerminatedString() else {
            throw ProtocolViolation("\(what()): missing string terminator")
        }
        return s
    }

    @inlinable
    mutating func readInt32(_ what: @autoclosure () -> String) throws -> Int32 {
        guard let v = readInteger(as: Int32.self) else { throw ProtocolViolation("\(what()): message too short") }
        return v
    }

    @inlinable
    mutating func readInt16(_ what: @autoclosure () -> String) throws -> Int16 {
        guard let v = readInteger(as: Int16.self) else { throw ProtocolViolation("\(what()): message too short") }
        return v
    }

    @inlinable
    mutating func readUInt32(_ what: @autoclosure () -> String) throws -> UInt32 {
        guard let v = readInteger(as: UInt32.self) else { throw ProtocolViolation("\(what()): message too short") }
        return v
    }

    @inlinable
    public mutating func readUInt8(_ what: @autoclosure () -> String) throws -> UInt8 {
        guard let v = readInteger(as: UInt8.self) else { throw ProtocolViolation("\(what()): message too short") }
        return v
    }

    /// A length-prefixed value where -1 means NULL (Bind parameters, DataRow columns, FunctionCall arguments).
    @inlinable
    mutating func readNullableBytes(_ what: @autoclosure () -> String) throws -> ByteBuffer? {
        let len = try readInt32(what())
        if len == -1 { return nil }
        guard len >= 0, let slice = readSlice(length: Int(len)) else {
            throw ProtocolViolation("\(what()): invalid value length \(len)")
        }
        return slice
    }

    @inlinable
    mutating func writeNullableBytes(_ value: ByteBuffer?) {
        if var value {
            writeInteger(Int32(value.readableBytes))
            writeBuffer(&value)
        } else {
            writeInteger(Int32(-1))
        }
    }

    @inlinable
    mutating func writeCString(_ s: String) {
        writeString(s)
        writeInteger(UInt8(0))
    }

    /// Throws unless the body was consumed exactly: a message with trailing bytes is malformed.
    @inlinable
    func expectFullyRead(_ what: @autoclosure () -> String) throws {
        if readableBytes != 0 {
            throw ProtocolViolation("\(what()): \(readableBytes) unexpected trailing bytes")
        }
    }

    /// Writes a typed frame: the type byte, then a length back-patched after `body` runs.
    @inlinable
    mutating func writeFrame(_ type: UInt8, _ body: (inout ByteBuffer) -> Void) {
        writeInteger(type)
        let lengthIndex = writerIndex
        writeInteger(Int32(0))
        body(&self)
        setInteger(Int32(writerIndex - lengthIndex), at: lengthIndex)
    }
}
