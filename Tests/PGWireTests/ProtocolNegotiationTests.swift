// The answer to a StartupMessage's version and protocol options, checked against what PostgreSQL 15 sends.
import NIOCore
import Testing

@testable import PGWire

@Suite("ProtocolNegotiation")
struct ProtocolNegotiationTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var major: UInt16
        var minor: UInt16
        var names: [String]
        var expected: ProtocolNegotiation.Outcome
        var testDescription: String { "\(major).\(minor) \(names)" }
    }

    static let cases: [Case] = [
        Case(major: 3, minor: 0, names: ["user", "database", "application_name"], expected: .accept(nil)),
        Case(major: 3, minor: 2, names: ["user", "database"],
             expected: .accept(.negotiateProtocolVersion(newestVersion: 196_608, unrecognizedOptions: []))),
        Case(major: 3, minor: 0, names: ["user", "_pq_.b", "database", "_pq_.a"],
             expected: .accept(.negotiateProtocolVersion(newestVersion: 196_608, unrecognizedOptions: ["_pq_.b", "_pq_.a"]))),
        Case(major: 3, minor: 9999, names: ["_pq_.test_protocol_negotiation", "user"],
             expected: .accept(.negotiateProtocolVersion(newestVersion: 196_608, unrecognizedOptions: ["_pq_.test_protocol_negotiation"]))),
        // Only the exact prefix is reserved: the name is case-sensitive, and "_pq_" alone is an ordinary setting.
        Case(major: 3, minor: 0, names: ["_PQ_.x", "_pq_"], expected: .accept(nil)),
        Case(major: 2, minor: 0, names: ["user"], expected: .refuse("unsupported frontend protocol 2.0: server supports 3.0 to 3.0")),
        Case(major: 4, minor: 1, names: ["user"], expected: .refuse("unsupported frontend protocol 4.1: server supports 3.0 to 3.0")),
    ]

    @Test(arguments: cases)
    func answer(_ c: Case) {
        #expect(ProtocolNegotiation.answer(major: c.major, minor: c.minor, parameterNames: c.names) == c.expected)
    }

    @Test("libpq 18's StartupMessage for protocol 3.2, built by hand, is answered with 3.0 and its _pq_. options")
    func libpq18StartupMessage() throws {
        // As libpq 18 sends it with max_protocol_version=3.2 (plus a protocol option, which PostgreSQL 18 knows).
        var body: [UInt8] = [0, 3, 0, 2]
        for (name, value) in [("user", "scram_user"), ("database", "pgswift_test"), ("_pq_._test", "1"), ("application_name", "psql")] {
            body += Array(name.utf8) + [0] + Array(value.utf8) + [0]
        }
        body.append(0)
        var inbound = ByteBuffer()
        inbound.writeInteger(Int32(body.count + 4))
        inbound.writeBytes(body)
        let packet = try #require(try WholeFrameReader.nextStartup(&inbound))
        guard case .startup(let major, let minor, let params) = try StartupPacket.decode(body: packet) else {
            Issue.record("not read as a StartupMessage")
            return
        }
        let outcome = ProtocolNegotiation.answer(major: major, minor: minor, parameterNames: params.map(\.name))
        guard case .accept(let message?) = outcome else {
            Issue.record("expected a NegotiateProtocolVersion, got \(outcome)")
            return
        }
        var out = ByteBuffer()
        message.encode(into: &out)
        let bytes = out.readBytes(length: out.readableBytes) ?? []
        // 'v', length, 0x00030000 (never 0: libpq 18 reads that as a downgrade to before 3.0), one option, its name.
        #expect(bytes == [0x76, 0, 0, 0, 23, 0, 3, 0, 0, 0, 0, 0, 1] + Array("_pq_._test".utf8) + [0])
    }

    @Test("on the wire the version is the Int32 0x00030000, then the count and the names")
    func wireBytes() throws {
        var b = ByteBuffer()
        BackendMessage.negotiateProtocolVersion(newestVersion: ProtocolNegotiation.newestVersion, unrecognizedOptions: ["_pq_.a"]).encode(into: &b)
        let bytes = b.readBytes(length: b.readableBytes) ?? []
        #expect(bytes == [0x76, 0, 0, 0, 19, 0, 3, 0, 0, 0, 0, 0, 1] + Array("_pq_.a".utf8) + [0])
    }
}
