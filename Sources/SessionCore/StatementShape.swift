// What a client decodes a prepared statement's rows and encodes its parameters by, as a digest to compare.
import NIOCore
import PGWire

/// A statement's parameter types and result columns (the answer to Describe of the statement), reduced to what a
/// client that caches it relies on: parameter type OIDs; each column's name, type OID, length and modifier. A table
/// OID or column number is left out, as PostgreSQL leaves them out when it decides whether a re-planned statement
/// still has its result type (a table dropped and created again with the same columns is the same shape).
public struct StatementShape: Hashable, Sendable, CustomStringConvertible {
    /// FNV-1a over the fields above: a collision would need two shapes of one text to agree in 64 bits.
    public private(set) var digest: UInt64 = 0xcbf2_9ce4_8422_2325

    public init() {}

    public var description: String { String(digest, radix: 16) }

    /// A ParameterDescription's body (count, then one OID each): taken whole.
    public init(parameterDescription body: ByteBuffer) {
        body.withUnsafeReadableBytes { mix($0) }
        mix(UInt8(ascii: "t"))
    }

    /// The shape completed with the result columns: a RowDescription's body, or nil for NoData. A malformed body
    /// gives a shape no well-formed one has, so a client comparing it hears that the statement changed.
    public func adding(rowDescription body: ByteBuffer?) -> StatementShape {
        var shape = self
        guard var b = body else {
            shape.mix(UInt8(ascii: "n"))
            return shape
        }
        var malformed = shape
        malformed.mix(UInt8(ascii: "?"))
        guard let count = b.readInteger(as: Int16.self), count >= 0 else { return malformed }
        shape.mix(UInt8(ascii: "T"))
        shape.mix(UInt16(bitPattern: count))
        for _ in 0..<count {
            // name, table OID, column number, type OID, type length, type modifier, format.
            guard let nameEnd = b.withUnsafeReadableBytes({ $0.firstIndex(of: 0) }),
                  let name = b.readSlice(length: nameEnd + 1),
                  b.readInteger(as: UInt32.self) != nil, b.readInteger(as: Int16.self) != nil,
                  let type = b.readInteger(as: UInt32.self), let length = b.readInteger(as: Int16.self),
                  let modifier = b.readInteger(as: Int32.self), b.readInteger(as: Int16.self) != nil else { return malformed }
            name.withUnsafeReadableBytes { shape.mix($0) }
            shape.mix(type)
            shape.mix(UInt16(bitPattern: length))
            shape.mix(UInt32(bitPattern: modifier))
        }
        return shape
    }

    private mutating func mix(_ bytes: UnsafeRawBufferPointer) {
        for byte in bytes { mix(byte) }
    }

    private mutating func mix(_ byte: UInt8) {
        digest = (digest ^ UInt64(byte)) &* 0x100_0000_01b3
    }

    private mutating func mix<I: FixedWidthInteger>(_ value: I) {
        withUnsafeBytes(of: value.bigEndian) { mix($0) }
    }
}

/// The answer to a Describe of a shared statement, as the server side hands it to the client side: `token` names the
/// client's own Describe (nil for one pgswift sent); `shape` is nil when the Describe failed or was skipped.
public struct DescribedStatement: Equatable, Sendable {
    public let statement: Int
    public let token: Int?
    public let shape: StatementShape?

    public init(statement: Int, token: Int?, shape: StatementShape?) {
        self.statement = statement
        self.token = token
        self.shape = shape
    }
}
