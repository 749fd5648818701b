// StatementCommand.classify as a table: the DEALLOCATE and DISCARD ALL forms it must see, and what stays `.other`.
import NIOCore
import SessionCore
import Testing

@Suite("StatementCommand")
struct StatementCommandTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var sql: String
        var expected: StatementCommand
        var testDescription: String { "\(sql.debugDescription) -> \(expected)" }
    }

    static func c(_ sql: String, _ expected: StatementCommand) -> Case { Case(sql: sql, expected: expected) }

    static let cases: [Case] = [
        c("DEALLOCATE x", .deallocate("x")),
        c("deallocate x", .deallocate("x")),
        c("DEALLOCATE S_12", .deallocate("s_12")),
        c("Deallocate Prepare Foo", .deallocate("foo")),
        c("DEALLOCATE PREPARE x", .deallocate("x")),
        c("DEALLOCATE ALL", .deallocateAll),
        c("deallocate all", .deallocateAll),
        c("DEALLOCATE PREPARE ALL", .deallocateAll),
        c("deallocate \"Mixed\"\"Quote\"", .deallocate("Mixed\"Quote")),
        c("DEALLOCATE PREPARE \"Mixed\"", .deallocate("Mixed")),
        c("DEALLOCATE \"two words\"", .deallocate("two words")),
        // A quoted "ALL" is an identifier, not the keyword.
        c("DEALLOCATE \"ALL\"", .deallocate("ALL")),
        c("DISCARD ALL", .discardAll),
        c("discard all", .discardAll),
        c("Discard All", .discardAll),
        // Trailing semicolon and whitespace.
        c("DEALLOCATE x;", .deallocate("x")),
        c("DEALLOCATE x ;  \n", .deallocate("x")),
        c("DEALLOCATE \"q\";", .deallocate("q")),
        c("DEALLOCATE ALL;", .deallocateAll),
        c("DISCARD ALL;", .discardAll),
        c("DISCARD ALL \t; \r\n", .discardAll),
        // Leading whitespace.
        c("  DEALLOCATE x", .deallocate("x")),
        c("\n\t\r DISCARD ALL", .discardAll),
        c(" \u{0B}\u{0C}DEALLOCATE ALL", .deallocateAll),
        c("DEALLOCATE\tPREPARE\n x", .deallocate("x")),
        // More than one statement, or anything else.
        c("DEALLOCATE x; SELECT 1", .other),
        c("DEALLOCATE x; DEALLOCATE y", .other),
        c("DISCARD ALL; DISCARD ALL", .other),
        c("DEALLOCATE ALL; SELECT 1", .other),
        c("DEALLOCATE x y", .other),
        c("DEALLOCATE", .other),
        c("DEALLOCATE ;", .other),
        c("DEALLOCATE \"unterminated", .other),
        c("DEALLOCATEx", .other),
        c("DISCARD", .other),
        c("DISCARD PLANS", .other),
        c("DISCARD ALL x", .other),
        c("DISCARD TEMP", .other),
        c("DELETE FROM t", .other),
        c("do $$ begin end $$", .other),
        c("SELECT 1", .other),
        c("", .other),
        c("   ", .other),
        c("/* c */ DEALLOCATE x", .other),
    ]

    /// A Query body: the text and its NUL.
    static func queryBody(_ sql: String) -> ByteBuffer {
        var b = ByteBuffer()
        b.writeString(sql)
        b.writeInteger(UInt8(0))
        return b
    }

    /// A Parse body after the name: text, NUL, parameter type count and OIDs.
    static func parseTail(_ sql: String, types: [UInt32]) -> ByteBuffer {
        var b = queryBody(sql)
        b.writeInteger(Int16(types.count))
        for t in types { b.writeInteger(t) }
        return b
    }

    @Test(arguments: cases)
    func queryBodies(_ c: Case) {
        #expect(StatementCommand.classify(Self.queryBody(c.sql)) == c.expected)
    }

    @Test(arguments: cases)
    func parseTails(_ c: Case) {
        #expect(StatementCommand.classify(Self.parseTail(c.sql, types: [])) == c.expected)
        // Parameter type bytes after the NUL are not text: 0x44 ('D') and 0x3B (';') among them change nothing.
        #expect(StatementCommand.classify(Self.parseTail(c.sql, types: [0x4400_3B20, 23])) == c.expected)
    }

    @Test func readsFromTheReaderIndex() {
        // As the rewriter hands it over: a Parse body whose name has been read off.
        var body = ByteBuffer()
        body.writeString("stmt")
        body.writeInteger(UInt8(0))
        var named = Self.parseTail("DEALLOCATE x", types: [25])
        body.writeBuffer(&named)
        _ = body.readNullTerminatedString()
        #expect(StatementCommand.classify(body) == .deallocate("x"))
        // The unnamed Parse: an empty name first.
        var unnamed = ByteBuffer(bytes: [0])
        var tail = Self.parseTail(" discard all ; ", types: [])
        unnamed.writeBuffer(&tail)
        unnamed.moveReaderIndex(forwardBy: 1)
        #expect(StatementCommand.classify(unnamed) == .discardAll)
    }

    @Test func textEndsAtTheFirstNul() {
        var b = Self.queryBody("DEALLOCATE x")
        b.writeString("; SELECT 1")
        b.writeInteger(UInt8(0))
        #expect(StatementCommand.classify(b) == .deallocate("x"))
        // A body without any NUL is read to its end.
        #expect(StatementCommand.classify(ByteBuffer(string: "DEALLOCATE y")) == .deallocate("y"))
    }
}
