// RESP encoding of commands and hiredis-backed decoding of replies, including the awkward ones.
import NIOCore
@testable import RedisClient
import Testing

@Suite("RESP codec")
struct RESPCodecTests {
    private func decodeAll(_ chunks: [String]) throws -> [RedisValue] {
        try decodeAll(chunks.map { Array($0.utf8) })
    }

    private func decodeAll(_ chunks: [[UInt8]]) throws -> [RedisValue] {
        let decoder = try RESPDecoder()
        var replies: [RedisValue] = []
        for chunk in chunks {
            try decoder.feed(ByteBuffer(bytes: chunk))
            while let reply = try decoder.next() { replies.append(reply) }
        }
        return replies
    }

    @Test func scalarReplies() throws {
        let replies = try decodeAll(["+OK\r\n-ERR wrong type\r\n:-42\r\n:9223372036854775807\r\n$0\r\n\r\n$-1\r\n"])
        #expect(replies == [.simpleString("OK"), .error("ERR wrong type"), .integer(-42), .integer(.max),
                            .bulk(ByteBuffer()), .bulk(nil)])
    }

    @Test func aNullArrayIsNeitherANullBulkNorAnEmptyArray() throws {
        let replies = try decodeAll(["*-1\r\n*0\r\n$-1\r\n*2\r\n*-1\r\n$-1\r\n"])
        #expect(replies == [.array(nil), .array([]), .bulk(nil), .array([.array(nil), .bulk(nil)])])
        #expect(replies[0].isNull && replies[2].isNull && !replies[1].isNull)
    }

    @Test func nestedArrays() throws {
        let wire = "*3\r\n*2\r\n:1\r\n*2\r\n$1\r\nx\r\n+y\r\n*0\r\n*1\r\n*1\r\n*1\r\n-ERR deep\r\n"
        let expected: RedisValue = .array([
            .array([.integer(1), .array([.bulk(ByteBuffer(string: "x")), .simpleString("y")])]),
            .array([]),
            .array([.array([.array([.error("ERR deep")])])]),
        ])
        #expect(try decodeAll([wire]) == [expected])
    }

    @Test func binaryBulkWithCRLFAndNULInside() throws {
        let payload: [UInt8] = [0, 13, 10, 255, 36, 45, 49, 13, 10, 0]
        let wire = Array("$\(payload.count)\r\n".utf8) + payload + Array("\r\n".utf8)
        #expect(try decodeAll([wire]) == [.bulk(ByteBuffer(bytes: payload))])
    }

    @Test func aReplySplitAcrossFeedsAtEveryPosition() throws {
        let wire = Array("*2\r\n$5\r\nhe\r\no\r\n:7\r\n+after\r\n".utf8)
        let expected: [RedisValue] = [.array([.bulk(ByteBuffer(string: "he\r\no")), .integer(7)]), .simpleString("after")]
        for cut in 1..<wire.count {
            #expect(try decodeAll([Array(wire[..<cut]), Array(wire[cut...])]) == expected, "cut at \(cut)")
        }
        #expect(try decodeAll(wire.map { [$0] }) == expected)
    }

    @Test func notRESPIsAnError() throws {
        #expect(throws: RedisClientError.self) { try decodeAll(["?what\r\n"]) }
        #expect(throws: RedisClientError.self) { try decodeAll([":12x\r\n"]) }
        // hiredis's reader stops at seven levels of nesting; Redis's own replies stay far below that.
        #expect(throws: RedisClientError.self) { try decodeAll([String(repeating: "*1\r\n", count: 9) + ":1\r\n"]) }
    }

    @Test func encodedCommandsAreArraysOfBulkStringsAndDecodeBack() throws {
        let arguments = [ByteBuffer(string: "SET"), ByteBuffer(string: "k"), ByteBuffer(bytes: [0, 13, 10]), ByteBuffer()]
        var buffer = ByteBuffer()
        RESPEncoder.write(arguments, into: &buffer)
        #expect(buffer == ByteBuffer(bytes: Array("*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\n".utf8) + [0, 13, 10] + Array("\r\n$0\r\n\r\n".utf8)))
        #expect(try decodeAll([Array(buffer.readableBytesView)]) == [.array(arguments.map { .bulk($0) })])
    }

    @Test func valueAccessors() {
        #expect(RedisValue.bulk(ByteBuffer(string: "12")).integer == 12)
        #expect(RedisValue.simpleString("OK").string == "OK")
        #expect(RedisValue.error("MOVED 1 h:1").errorMessage == "MOVED 1 h:1")
        #expect(RedisValue.bulk(ByteBuffer(bytes: [0xFF])).string == nil)
        #expect(RedisValue.integer(3).bytes == nil)
    }
}
