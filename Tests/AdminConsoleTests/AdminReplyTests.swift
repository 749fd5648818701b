// How a reply goes on the wire: RowDescription with PgBouncer's types, DataRows with NULLs, tags, notices, errors.
import AdminConsole
import NIOCore
import PGWire
import Testing

@Suite("AdminReply encoding")
struct AdminReplyTests {
    struct Frame: Equatable {
        var type: Character
        var body: [UInt8]
    }

    static func frames(_ reply: AdminReply) -> [Frame] {
        var out = ByteBuffer()
        reply.encode(into: &out)
        var frames: [Frame] = []
        while let type = out.readInteger(as: UInt8.self), let length = out.readInteger(as: Int32.self),
              let body = out.readBytes(length: Int(length) - 4) {
            frames.append(Frame(type: Character(UnicodeScalar(type)), body: body))
        }
        #expect(out.readableBytes == 0)
        return frames
    }

    static let idle = Frame(type: "Z", body: [UInt8(ascii: "I")])

    static func cstring(_ s: String) -> [UInt8] { Array(s.utf8) + [0] }

    static func be<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.bigEndian) { Array($0) } }

    @Test("a table: one column per field with its type OID and size, rows with NULL as length -1, tag, ReadyForQuery")
    func table() {
        var t = AdminTable([("name", .text), ("n", .int4), ("big", .int8), ("avg", .numeric)])
        t.add(["a", 1, .int(-2), .null])
        let f = Self.frames(.table(t))
        #expect(f.map(\.type) == ["T", "D", "C", "Z"])
        func field(_ name: String, _ oid: UInt32, _ size: Int16) -> [UInt8] {
            Self.cstring(name) + Self.be(UInt32(0)) + Self.be(Int16(0)) + Self.be(oid) + Self.be(size) + Self.be(Int32(-1)) + Self.be(Int16(0))
        }
        #expect(f[0].body == Self.be(Int16(4)) + field("name", 25, -1) + field("n", 23, 4) + field("big", 20, 8) + field("avg", 1700, -1))
        #expect(f[1].body == Self.be(Int16(4)) + Self.be(Int32(1)) + Array("a".utf8) + Self.be(Int32(1)) + Array("1".utf8)
                    + Self.be(Int32(2)) + Array("-2".utf8) + Self.be(Int32(-1)))
        #expect(f[2].body == Self.cstring("SHOW"))
        #expect(f[3] == Self.idle)
    }

    @Test("a command tag alone")
    func done() {
        #expect(Self.frames(.done(tag: "PAUSE")) == [Frame(type: "C", body: Self.cstring("PAUSE")), Self.idle])
    }

    @Test("a notice carries severity NOTICE, SQLSTATE 00000, the message and its detail, then the tag")
    func notice() {
        let f = Self.frames(.notice(message: "Console usage", detail: "\n\tSHOW HELP", tag: "SHOW"))
        #expect(f.map(\.type) == ["N", "C", "Z"])
        let fields = ErrorFields.parse(ByteBuffer(bytes: f[0].body))
        #expect(fields?["S"] == "NOTICE" && fields?["C"] == "00000" && fields?["M"] == "Console usage" && fields?["D"] == "\n\tSHOW HELP")
    }

    @Test("an error, then ReadyForQuery: the session goes on")
    func error() {
        let f = Self.frames(.error(PGError(SQLState.protocolViolation, "admin access needed")))
        #expect(f.map(\.type) == ["E", "Z"])
        let fields = ErrorFields.parse(ByteBuffer(bytes: f[0].body))
        #expect(fields?["S"] == "ERROR" && fields?["C"] == "08P01" && fields?["M"] == "admin access needed")
    }

    @Test("silent sends nothing, not even ReadyForQuery")
    func silent() {
        #expect(Self.frames(.silent).isEmpty)
    }
}
