// StatementShape: which differences in a statement's description count (what a caching client decodes by) and which not.
import NIOCore
import PGWire
import SessionCore
import Testing

@Suite("StatementShape")
struct StatementShapeTests {
    /// The body of a backend message (without type byte and length).
    static func body(_ message: BackendMessage) -> ByteBuffer {
        var b = ByteBuffer()
        message.encode(into: &b)
        return b.getSlice(at: 5, length: b.readableBytes - 5)!
    }

    static func shape(parameters: [UInt32] = [], columns: [FieldDescription]?) -> StatementShape {
        StatementShape(parameterDescription: body(.parameterDescription(parameters)))
            .adding(rowDescription: columns.map { body(.rowDescription($0)) })
    }

    static let int4 = FieldDescription(name: "b", tableOID: 16384, columnAttribute: 2, typeOID: 23, typeSize: 4)

    struct Case: Sendable, CustomTestStringConvertible {
        var why: String
        var parameters: [UInt32] = []
        var columns: [FieldDescription]?
        var same: Bool
        var testDescription: String { why }
    }

    static let cases: [Case] = [
        Case(why: "the same description", columns: [int4], same: true),
        Case(why: "another table OID and column number (a table created again)",
             columns: [FieldDescription(name: "b", tableOID: 99999, columnAttribute: 5, typeOID: 23, typeSize: 4)], same: true),
        Case(why: "a binary format code (a portal's description)",
             columns: [FieldDescription(name: "b", tableOID: 16384, columnAttribute: 2, typeOID: 23, typeSize: 4, format: 1)], same: true),
        Case(why: "the column's type changed (ALTER COLUMN b TYPE text)",
             columns: [FieldDescription(name: "b", tableOID: 16384, columnAttribute: 2, typeOID: 25, typeSize: -1)], same: false),
        Case(why: "a type created again under another OID",
             columns: [FieldDescription(name: "b", tableOID: 16384, columnAttribute: 2, typeOID: 70001, typeSize: 4)], same: false),
        Case(why: "a type modifier (varchar(10) to varchar(20))",
             columns: [FieldDescription(name: "b", tableOID: 16384, columnAttribute: 2, typeOID: 23, typeSize: 4, typeModifier: 24)], same: false),
        Case(why: "a column renamed", columns: [FieldDescription(name: "c", tableOID: 16384, columnAttribute: 2, typeOID: 23, typeSize: 4)], same: false),
        Case(why: "a column added", columns: [int4, FieldDescription(name: "y", typeOID: 23, typeSize: 4)], same: false),
        Case(why: "no columns at all", columns: [], same: false),
        Case(why: "NoData", columns: nil, same: false),
        Case(why: "a parameter's type changed", parameters: [25], columns: [int4], same: false),
    ]

    @Test(arguments: cases)
    func comparedWithTheOriginal(_ c: Case) {
        let original = Self.shape(parameters: c.parameters.isEmpty ? [] : [23], columns: [Self.int4])
        #expect((Self.shape(parameters: c.parameters, columns: c.columns) == original) == c.same)
    }

    @Test func malformedRowDescriptionMatchesNothing() {
        var cut = Self.body(.rowDescription([Self.int4]))
        cut.moveWriterIndex(to: cut.writerIndex - 3)
        let broken = StatementShape().adding(rowDescription: cut)
        #expect(broken != Self.shape(columns: [Self.int4]))
        #expect(broken != StatementShape().adding(rowDescription: nil))
    }

    @Test func serverForgetsAShapeWhenTheStatementGoes() {
        var cache = ServerStatementCache(capacity: 1)
        let shape = Self.shape(columns: [Self.int4])
        cache.setShape(shape, of: 1)
        #expect(cache.shape(of: 1) == nil)
        _ = cache.insert(1)
        cache.setShape(shape, of: 1)
        #expect(cache.shape(of: 1) == shape)
        // Evicted, then prepared again: unknown until described again.
        #expect(cache.insert(2) == 1)
        _ = cache.insert(1)
        #expect(cache.shape(of: 1) == nil)
        cache.setShape(shape, of: 1)
        cache.markStale(1)
        #expect(cache.shape(of: 1) == nil)
        _ = cache.insert(1)
        cache.setShape(shape, of: 1)
        cache.removeAll()
        #expect(cache.shape(of: 1) == nil)
    }
}
