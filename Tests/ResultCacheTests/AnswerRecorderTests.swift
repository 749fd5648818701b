// AnswerRecorder fed real backend frames whole, split at every byte into two reads, and a byte at a time: only a plain
// answer ending in an idle ReadyForQuery is kept, and the byte limit holds at its exact boundary.
import NIOCore
import ResultCache
import Testing

/// Backend messages as PostgreSQL writes them.
enum Backend {
    static func frame(_ type: Character, _ body: [UInt8] = []) -> [UInt8] {
        var out = [type.asciiValue!]
        withUnsafeBytes(of: Int32(body.count + 4).bigEndian) { out.append(contentsOf: $0) }
        return out + body
    }

    static func int16(_ v: Int16) -> [UInt8] { withUnsafeBytes(of: v.bigEndian) { Array($0) } }
    static func int32(_ v: Int32) -> [UInt8] { withUnsafeBytes(of: v.bigEndian) { Array($0) } }
    static func cString(_ s: String) -> [UInt8] { Array(s.utf8) + [0] }

    static func rowDescription(_ columns: [String]) -> [UInt8] {
        var body = int16(Int16(columns.count))
        for c in columns {
            body += cString(c) + int32(16384) + int16(1) + int32(23) + int16(4) + int32(-1) + int16(0)
        }
        return frame("T", body)
    }

    static func dataRow(_ values: [String?]) -> [UInt8] {
        var body = int16(Int16(values.count))
        for v in values {
            if let v { body += int32(Int32(v.utf8.count)) + Array(v.utf8) } else { body += int32(-1) }
        }
        return frame("D", body)
    }

    static func commandComplete(_ tag: String) -> [UInt8] { frame("C", cString(tag)) }
    static func ready(_ status: Character) -> [UInt8] { frame("Z", [status.asciiValue!]) }
    static let parseComplete = frame("1")
    static let bindComplete = frame("2")
    static let noData = frame("n")
    static let portalSuspended = frame("s")
    static let emptyQuery = frame("I")
    static func parameterDescription(_ oids: [Int32]) -> [UInt8] { frame("t", int16(Int16(oids.count)) + oids.flatMap(int32)) }

    static func fields(_ pairs: [(Character, String)]) -> [UInt8] {
        pairs.flatMap { [$0.0.asciiValue!] + cString($0.1) } + [0]
    }

    static func error(_ message: String) -> [UInt8] { frame("E", fields([("S", "ERROR"), ("C", "42P01"), ("M", message)])) }
    static func notice(_ message: String) -> [UInt8] { frame("N", fields([("S", "NOTICE"), ("C", "00000"), ("M", message)])) }
    static func parameterStatus(_ name: String, _ value: String) -> [UInt8] { frame("S", cString(name) + cString(value)) }
    static func copyOut(columns: Int16) -> [UInt8] { frame("H", [0] + int16(columns) + Array(repeating: 0, count: Int(columns) * 2)) }
    static func copyData(_ line: String) -> [UInt8] { frame("d", Array(line.utf8)) }
    static let copyDone = frame("c")
    static func notification(_ channel: String) -> [UInt8] { frame("A", int32(4242) + cString(channel) + cString("")) }
}

@Suite("Answer recorder")
struct AnswerRecorderTests {
    typealias B = Backend

    enum Outcome: Equatable, CustomStringConvertible {
        case kept
        case abandoned(AnswerRecorder.Abandoned)
        var description: String {
            switch self {
            case .kept: "kept"
            case .abandoned(let why): "abandoned(\(why))"
            }
        }
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var bytes: [UInt8]
        var outcome: Outcome
        var testDescription: String { "\(name) → \(outcome)" }
    }

    static let rows = B.rowDescription(["id", "name"]) + B.dataRow(["1", "one"]) + B.dataRow(["2", nil]) + B.commandComplete("SELECT 2")

    static let cases: [Case] = [
        // Kept: what a simple Query or an extended request answers, idle at the end.
        Case(name: "Query: rows", bytes: rows + B.ready("I"), outcome: .kept),
        Case(name: "Query: no rows", bytes: B.rowDescription(["x"]) + B.commandComplete("SELECT 0") + B.ready("I"), outcome: .kept),
        Case(name: "P/B/D/E/S", bytes: B.parseComplete + B.bindComplete + rows + B.ready("I"), outcome: .kept),
        Case(name: "B/E/S (no Describe)", bytes: B.bindComplete + B.dataRow(["7"]) + B.commandComplete("SELECT 1") + B.ready("I"), outcome: .kept),
        Case(name: "statement described", bytes: B.parseComplete + B.parameterDescription([23, 25]) + B.rowDescription(["a"]) + B.bindComplete
             + B.dataRow(["1"]) + B.commandComplete("SELECT 1") + B.ready("I"), outcome: .kept),
        Case(name: "NoData", bytes: B.parseComplete + B.bindComplete + B.noData + B.commandComplete("SELECT 0") + B.ready("I"), outcome: .kept),
        Case(name: "ReadyForQuery alone", bytes: B.ready("I"), outcome: .kept),
        // Not idle at the end: inside a transaction, or a failed one.
        Case(name: "in a transaction", bytes: rows + B.ready("T"), outcome: .abandoned(.notIdle)),
        Case(name: "failed transaction", bytes: B.parseComplete + B.bindComplete + rows + B.ready("E"), outcome: .abandoned(.notIdle)),
        // Anything but plain messages: an error, a notice, a suspended portal, a setting, COPY, a notification.
        Case(name: "error", bytes: B.error("relation \"t\" does not exist") + B.ready("I"), outcome: .abandoned(.notPlain)),
        Case(name: "error after rows", bytes: B.rowDescription(["id"]) + B.dataRow(["1"]) + B.error("division by zero") + B.ready("I"),
             outcome: .abandoned(.notPlain)),
        Case(name: "notice first", bytes: B.notice("hello") + rows + B.ready("I"), outcome: .abandoned(.notPlain)),
        Case(name: "portal suspended", bytes: B.bindComplete + B.dataRow(["1"]) + B.portalSuspended + B.ready("I"), outcome: .abandoned(.notPlain)),
        Case(name: "parameter status", bytes: rows + B.parameterStatus("TimeZone", "UTC") + B.ready("I"), outcome: .abandoned(.notPlain)),
        Case(name: "COPY TO STDOUT", bytes: B.copyOut(columns: 1) + B.copyData("1\n") + B.copyDone + B.commandComplete("COPY 1") + B.ready("I"),
             outcome: .abandoned(.notPlain)),
        Case(name: "notification", bytes: rows + B.notification("jobs") + B.ready("I"), outcome: .abandoned(.notPlain)),
        Case(name: "empty query", bytes: B.emptyQuery + B.ready("I"), outcome: .abandoned(.notPlain)),
        // Whatever follows ReadyForQuery belongs to another request.
        Case(name: "bytes after ReadyForQuery", bytes: rows + B.ready("I") + B.rowDescription(["x"]), outcome: .abandoned(.malformed)),
        Case(name: "a second answer", bytes: rows + B.ready("I") + rows + B.ready("I"), outcome: .abandoned(.malformed)),
        // A length no frame can have.
        Case(name: "length 3", bytes: B.rowDescription(["id"]) + [UInt8(ascii: "D"), 0, 0, 0, 3] + B.ready("I"), outcome: .abandoned(.malformed)),
        Case(name: "negative length", bytes: [UInt8(ascii: "T"), 0xFF, 0xFF, 0xFF, 0xF0] + B.ready("I"), outcome: .abandoned(.malformed)),
    ]

    static func buffer(_ bytes: some Collection<UInt8>) -> ByteBuffer { ByteBuffer(bytes: Array(bytes)) }

    /// Feeds the reads in order and returns the first progress that is not `.more` (with what the recorder says to
    /// every read after it), or nil when it still wants more.
    static func record(_ reads: [[UInt8]], limit: Int = 1 << 20) -> (outcome: Outcome?, kept: [UInt8]?, after: [AnswerRecorder.Progress]) {
        var recorder = AnswerRecorder(limit: limit)
        var outcome: Outcome?, kept: [UInt8]?, after: [AnswerRecorder.Progress] = []
        for r in reads {
            let progress = recorder.feed(buffer(r))
            if outcome != nil {
                after.append(progress)
                continue
            }
            switch progress {
            case .more: continue
            case .done(let bytes):
                outcome = .kept
                kept = Array(bytes.readableBytesView)
            case .abandoned(let why):
                outcome = .abandoned(why)
            }
        }
        return (outcome, kept, after)
    }

    /// Every way of cutting `bytes` in two (the empty read at either end included), then one byte at a time.
    static func splits(_ bytes: [UInt8]) -> [[[UInt8]]] {
        var all: [[[UInt8]]] = (0...bytes.count).map { [Array(bytes[..<$0]), Array(bytes[$0...])] }
        all.append(bytes.map { [$0] })
        return all
    }

    /// The answer ends exactly at the end of its ReadyForQuery; the rest is another request's.
    static func endOfReady(_ bytes: [UInt8]) -> Int? {
        var i = 0
        while i + 5 <= bytes.count {
            let length = Int(Int32(bigEndian: bytes[(i + 1)..<(i + 5)].withUnsafeBytes { $0.loadUnaligned(as: Int32.self) }))
            guard length >= 4 else { return nil }
            if bytes[i] == UInt8(ascii: "Z") { return i + 1 + length }
            i += 1 + length
        }
        return nil
    }

    @Test(arguments: cases)
    func wholeAndSplitAtEveryByte(_ c: Case) {
        let whole = Self.record([c.bytes])
        #expect(whole.outcome == c.outcome)
        if c.outcome == .kept { #expect(whole.kept == c.bytes) }
        let ready = Self.endOfReady(c.bytes)
        for reads in Self.splits(c.bytes) {
            let got = Self.record(reads)
            let cut = reads.count == 2 ? "cut at \(reads[0].count)" : "byte by byte"
            let boundaries = Set(reads.indices.map { reads[...$0].reduce(0) { $0 + $1.count } })
            if c.outcome == .abandoned(.malformed), let ready, boundaries.contains(ready) {
                // A read ended with the answer: kept then, and every stray byte after it refused.
                #expect(got.outcome == .kept, "\(cut)")
                #expect(got.kept == Array(c.bytes[..<ready]), "\(cut)")
                #expect(!got.after.isEmpty && got.after.allSatisfy { $0 == .abandoned(.malformed) }, "\(cut)")
                continue
            }
            #expect(got.outcome == c.outcome, "\(cut)")
            if c.outcome == .kept { #expect(got.kept == c.bytes, "\(cut)") }
            // Once decided, nothing more is recorded.
            #expect(got.after.allSatisfy { $0 == .abandoned(.malformed) }, "\(cut)")
        }
    }

    @Test func theLimitHoldsAtItsExactBoundary() {
        let answer = Self.rows + B.ready("I")
        for reads in [[answer]] + Self.splits(answer) {
            let exact = Self.record(reads, limit: answer.count)
            #expect(exact.outcome == .kept && exact.kept == answer)
            let under = Self.record(reads, limit: answer.count - 1)
            #expect(under.outcome == .abandoned(.tooBig))
        }
    }

    /// A big answer is given up as soon as it passes the limit, not at its end: its rows are not held meanwhile.
    @Test func aBigAnswerIsGivenUpAsItPassesTheLimit() {
        var recorder = AnswerRecorder(limit: 100)
        let first = recorder.feed(Self.buffer(B.rowDescription(["id"]) + B.dataRow(["1"])))
        #expect(first == .more)
        let second = recorder.feed(Self.buffer(B.dataRow([String(repeating: "x", count: 200)])))
        #expect(second == .abandoned(.tooBig))
        let third = recorder.feed(Self.buffer(B.commandComplete("SELECT 2") + B.ready("I")))
        #expect(third == .abandoned(.malformed))
    }

    /// An error's type is enough to give up: its body, perhaps not arrived yet, is not waited for.
    @Test func aMessageThatIsNotPlainIsRefusedFromItsHeader() {
        var recorder = AnswerRecorder(limit: 1 << 20)
        let header = Array(B.error("a long message").prefix(5))
        let progress = recorder.feed(Self.buffer(B.rowDescription(["id"]) + header))
        #expect(progress == .abandoned(.notPlain))
    }

    @Test func anEmptyReadChangesNothing() {
        var recorder = AnswerRecorder(limit: 1 << 20)
        let empty = recorder.feed(ByteBuffer())
        #expect(empty == .more)
        let done = recorder.feed(Self.buffer(Self.rows + B.ready("I")))
        #expect(done == .done(Self.buffer(Self.rows + B.ready("I"))))
    }
}
