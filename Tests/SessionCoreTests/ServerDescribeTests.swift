// ServerSession and the Describes of shared statements: shapes read, pgswift's own answers hidden, failures reported,
// and the 0A000 raised in place of a stale plan's Bind made to look like PostgreSQL's own.
import NIOCore
import PGWire
import SessionCore
import Testing

@Suite("ServerSession reads statement descriptions")
struct ServerDescribeTests {
    static let columns = [FieldDescription(name: "b", tableOID: 16384, columnAttribute: 2, typeOID: 23, typeSize: 4)]
    static let shape = StatementShapeTests.shape(parameters: [23], columns: columns)

    @Test func pgswiftsOwnDescribeIsHiddenAndItsShapeReported() throws {
        var s = ServerSessionTests.linked()
        #expect(s.clientWrote([.parse(statement: 1, injected: true), .describeStatement(statement: 1, token: nil)]) == false)
        try s.read(ServerSessionTests.bytes([.parseComplete, .parameterDescription([23]), .rowDescription(Self.columns)])) { _ in }
        // Nothing for the client to read, but something to hear: the handler delivers anyway.
        #expect(s.outgoing.isEmpty)
        #expect(s.hasDescribed)
        #expect(s.takeNews().described == [DescribedStatement(statement: 1, token: nil, shape: Self.shape)])
        #expect(!s.hasDescribed && s.quiet)
    }

    @Test func clientsOwnDescribePassesAndIsReportedWithItsToken() throws {
        var s = ServerSessionTests.linked()
        _ = s.clientWrote([.synthetic(.parseComplete), .describeStatement(statement: 4, token: 9), .sync])
        try s.read(ServerSessionTests.bytes([.parameterDescription([]), .noData, .readyForQuery(.idle)])) { _ in }
        #expect(try ServerSessionTests.delivered(&s) == [.parseComplete, .parameterDescription([]), .noData, .readyForQuery(.idle)])
        let noRows = StatementShapeTests.shape(columns: nil)
        #expect(s.takeNews().described == [DescribedStatement(statement: 4, token: 9, shape: noRows)])
    }

    @Test func describeAcrossReadsKeepsItsParameterHalf() throws {
        var s = ServerSessionTests.linked()
        _ = s.clientWrote([.describeStatement(statement: 2, token: nil)])
        try s.read(ServerSessionTests.bytes([.parameterDescription([23])])) { _ in }
        #expect(!s.hasDescribed)
        try s.read(ServerSessionTests.bytes([.rowDescription(Self.columns)])) { _ in }
        #expect(s.takeNews().described == [DescribedStatement(statement: 2, token: nil, shape: Self.shape)])
    }

    @Test func failedDescribeIsReportedWithoutAShape() throws {
        var s = ServerSessionTests.linked()
        _ = s.clientWrote([.parse(statement: 1, injected: true), .describeStatement(statement: 1, token: nil)])
        let missing = BackendMessage.errorResponse(ErrorFields([(UInt8(ascii: "C"), "42P01"), (UInt8(ascii: "M"), "relation \"t\" does not exist")]))
        try s.read(ServerSessionTests.bytes([missing])) { _ in }
        // The client sees the error where its Bind stands; the server now skips to the client's Sync.
        #expect(try ServerSessionTests.delivered(&s) == [missing])
        let news = s.takeNews()
        #expect(news.failed == [FailedParse(statement: 1, injected: true)])
        #expect(news.described == [DescribedStatement(statement: 1, token: nil, shape: nil)])
        _ = s.clientWrote([.sync])
        try s.read(ServerSessionTests.bytes([.readyForQuery(.idle)])) { _ in }
        #expect(s.quiet)
    }

    @Test func describeSentWhileTheServerSkipsToSyncIsAnsweredAtOnce() throws {
        var s = ServerSessionTests.linked()
        _ = s.clientWrote([.parse(statement: nil, injected: false)])
        try s.read(ServerSessionTests.bytes([.errorResponse(ErrorFields([(UInt8(ascii: "C"), "42601")]))])) { _ in }
        _ = s.takeNews()
        // No reply will ever come for it: the handler must deliver now, or the client would wait for ever.
        #expect(s.clientWrote([.parse(statement: 1, injected: true), .describeStatement(statement: 1, token: nil)]) == true)
        let news = s.takeNews()
        #expect(news.described == [DescribedStatement(statement: 1, token: nil, shape: nil)])
        #expect(news.failed == [FailedParse(statement: 1, injected: true)])
    }

    @Test func describeOfAStalePlanRetiresTheStatement() throws {
        var s = ServerSessionTests.linked()
        _ = s.clientWrote([.describeStatement(statement: 5, token: 1), .sync])
        var notes: [ServerNote] = []
        try s.read(ServerSessionTests.bytes([ServerSessionTests.cachedPlan, .readyForQuery(.idle)])) { notes.append($0) }
        #expect(notes == [.planChanged(statement: 5), .error(sqlState: "0A000"), .ready(.idle)])
        #expect(try ServerSessionTests.delivered(&s) == [ServerSessionTests.cachedPlan, .readyForQuery(.idle)])
        #expect(s.takeNews().described == [DescribedStatement(statement: 5, token: 1, shape: nil)])
    }

    @Test func raisedStalePlanSaysWherePostgreSQLsOwnComesFrom() throws {
        var s = ServerSessionTests.linked()
        _ = s.clientWrote([.parse(statement: nil, injected: true), .injectedBind, .raise, .execute, .sync])
        let fromDO = BackendMessage.errorResponse(ErrorFields([
            (UInt8(ascii: "S"), "ERROR"), (UInt8(ascii: "V"), "ERROR"), (UInt8(ascii: "C"), "0A000"), (UInt8(ascii: "M"), RaisedError.stalePlan),
            (UInt8(ascii: "W"), "PL/pgSQL function inline_code_block line 1 at RAISE"), (UInt8(ascii: "F"), "pl_exec.c"),
            (UInt8(ascii: "L"), "3893"), (UInt8(ascii: "R"), "exec_stmt_raise"),
        ]))
        var notes: [ServerNote] = []
        try s.read(ServerSessionTests.bytes([.parseComplete, .bindComplete, fromDO, .readyForQuery(.idle)])) { notes.append($0) }
        let delivered = try ServerSessionTests.delivered(&s)
        guard case .errorResponse(let fields) = delivered.first else { Issue.record("no error: \(delivered)"); return }
        #expect(fields.fields.map { Character(UnicodeScalar($0.code)) } == ["S", "V", "C", "M", "F", "L", "R"])
        #expect(fields["F"] == "plancache.c" && fields["R"] == "RevalidateCachedQuery" && fields["M"] == RaisedError.stalePlan)
        #expect(delivered.dropFirst() == [.readyForQuery(.idle)])
        // Not mistaken for a stale plan the server itself reported (that would retire a statement or hold a retry).
        #expect(notes == [.error(sqlState: "0A000"), .ready(.idle)])
    }
}
