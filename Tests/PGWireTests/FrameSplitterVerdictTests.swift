// FrameSplitter.feedDirected as step tables: dropped and cut-after frames, where `.cut` falls, frames carried
// across feeds, and an `observe` set changed between feeds.
import NIOCore
import PGWire
import Testing

// Frame types: three the tables observe (ReadyForQuery, ParseComplete, CommandComplete), two they do not.
private let Z = UInt8(ascii: "Z"), one = UInt8(ascii: "1"), C = UInt8(ascii: "C"), D = UInt8(ascii: "D"), d = UInt8(ascii: "d")

@Suite("FrameSplitter verdicts")
struct FrameSplitterVerdictTests {
    static let observed = [Z, one, C]

    /// One frame of a stream. Its body starts with `tag`, so verdicts and cuts follow it whatever the chunking.
    struct F: Sendable {
        var type: UInt8
        var tag: Character
        /// Body bytes after the tag.
        var padding = 0
        var verdict: FrameVerdict = .pass

        var bytes: [UInt8] { FrameSplitterVerdictTests.frame(type, [tag.asciiValue!] + [UInt8](repeating: 0xAB, count: padding)) }
    }

    struct Scenario: Sendable, CustomTestStringConvertible {
        var name: String
        var frames: [F]
        var testDescription: String { name }
    }

    static func frame(_ type: UInt8, _ body: [UInt8]) -> [UInt8] {
        [type] + withUnsafeBytes(of: Int32(4 + body.count).bigEndian) { Array($0) } + body
    }

    /// What the caller writes at a `.cut`: it names the last frame observed, so a misplaced cut shows.
    static func insertion(after tag: UInt8) -> [UInt8] { Array("<cut \(Character(Unicode.Scalar(tag)))>".utf8) }

    /// The forwarded stream with the insertions, as the caller should end up writing it.
    static func expectedStream(_ frames: [F], observe: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        for f in frames {
            let verdict = observe.contains(f.type) ? f.verdict : .pass
            switch verdict {
            case .pass: out += f.bytes
            case .drop: out += insertion(after: f.tag.asciiValue!)
            case .cutAfter: out += f.bytes + insertion(after: f.tag.asciiValue!)
            }
        }
        return out
    }

    struct Outcome: Equatable {
        var stream: [UInt8] = []
        /// Tags of the observed frames, in order.
        var observed: [Character] = []
        var cuts = 0
    }

    /// Feeds `stream` in chunks of the given sizes (cycled), answering each observed frame by its tag.
    static func run(_ stream: [UInt8], chunks: [Int], verdicts: [Character: FrameVerdict], splitter: inout FrameSplitter) throws -> Outcome {
        var out = Outcome()
        var offset = 0
        var i = 0
        var lastTag: UInt8?
        while offset < stream.count {
            let n = min(chunks[i % chunks.count], stream.count - offset)
            i += 1
            try splitter.feedDirected(ByteBuffer(bytes: stream[offset..<offset + n])) { event in
                switch event {
                case .bytes(let b):
                    out.stream += Array(b.readableBytesView)
                case .observed(_, let body):
                    let tag = body.getInteger(at: body.readerIndex, as: UInt8.self)!
                    lastTag = tag
                    let c = Character(Unicode.Scalar(tag))
                    out.observed.append(c)
                    return verdicts[c] ?? .pass
                case .cut:
                    out.cuts += 1
                    out.stream += insertion(after: lastTag ?? 0)
                case .intercepted, .counted:
                    Issue.record("nothing is intercepted or counted here")
                }
                return .pass
            }
            offset += n
        }
        return out
    }

    static let scenarios: [Scenario] = [
        Scenario(name: "nothing cut", frames: [F(type: D, tag: "a"), F(type: Z, tag: "b"), F(type: one, tag: "c")]),
        Scenario(name: "drop at the start", frames: [F(type: Z, tag: "a", verdict: .drop), F(type: D, tag: "b", padding: 10), F(type: Z, tag: "c")]),
        Scenario(name: "drop in the middle", frames: [F(type: D, tag: "a"), F(type: one, tag: "b", verdict: .drop), F(type: D, tag: "c")]),
        Scenario(name: "drop at the end", frames: [F(type: D, tag: "a"), F(type: D, tag: "b"), F(type: Z, tag: "c", padding: 1, verdict: .drop)]),
        Scenario(name: "only a dropped frame", frames: [F(type: one, tag: "a", verdict: .drop)]),
        Scenario(name: "cutAfter on the first frame", frames: [F(type: one, tag: "a", verdict: .cutAfter), F(type: D, tag: "b")]),
        Scenario(name: "cutAfter in the middle", frames: [F(type: D, tag: "a"), F(type: C, tag: "b", padding: 6, verdict: .cutAfter), F(type: D, tag: "c")]),
        Scenario(name: "cutAfter on the last frame", frames: [F(type: D, tag: "a"), F(type: Z, tag: "b"), F(type: one, tag: "c", verdict: .cutAfter)]),
        Scenario(
            name: "adjacent drops and cuts",
            frames: [
                F(type: one, tag: "a", verdict: .drop), F(type: one, tag: "b", verdict: .drop), F(type: C, tag: "c", padding: 3, verdict: .cutAfter),
                F(type: Z, tag: "d", verdict: .cutAfter), F(type: one, tag: "e", verdict: .drop),
            ]),
        Scenario(
            name: "verdicts around streamed frames",
            frames: [
                F(type: one, tag: "a", verdict: .drop), F(type: d, tag: "b", padding: 300), F(type: C, tag: "c", padding: 2, verdict: .cutAfter),
                F(type: d, tag: "d", padding: 90), F(type: Z, tag: "e", verdict: .drop), F(type: d, tag: "f", padding: 40),
            ]),
        Scenario(
            name: "observed frames larger than a chunk",
            frames: [
                F(type: C, tag: "a", padding: 40, verdict: .drop), F(type: D, tag: "b", padding: 3), F(type: C, tag: "c", padding: 30, verdict: .cutAfter),
                F(type: C, tag: "d", padding: 25),
            ]),
    ]

    /// Every chunk size, every single split point, and an irregular pattern.
    static func chunkings(_ n: Int) -> [[Int]] {
        (1...n).map { [$0] } + (1..<n).map { [$0, n] } + [[1, 2, 3, 5, 8, 13], [4, 1], [6, 5]]
    }

    @Test(arguments: scenarios)
    func bytesPlusInsertionsEqualTheExpectedStream(_ s: Scenario) throws {
        let stream = s.frames.flatMap(\.bytes)
        let want = Self.expectedStream(s.frames, observe: Self.observed)
        let wantObserved = s.frames.filter { Self.observed.contains($0.type) }.map(\.tag)
        let wantCuts = s.frames.filter { Self.observed.contains($0.type) && $0.verdict != .pass }.count
        var verdicts: [Character: FrameVerdict] = [:]
        for f in s.frames { verdicts[f.tag] = f.verdict }
        for chunks in Self.chunkings(stream.count) {
            var splitter = FrameSplitter(intercept: FrameTypeSet(), observe: FrameTypeSet(Self.observed), maxFrameLength: 1 << 16)
            let got = try Self.run(stream, chunks: chunks, verdicts: verdicts, splitter: &splitter)
            #expect(got.stream == want, "chunked by \(chunks.prefix(3))")
            #expect(got.observed == wantObserved, "chunked by \(chunks.prefix(3))")
            #expect(got.cuts == wantCuts, "chunked by \(chunks.prefix(3))")
            #expect(splitter.atFrameBoundary)
        }
    }

    // MARK: the events themselves, around a carried frame

    /// An event as a short word: "bytes:a" names the tags of the frames (or pieces) forwarded.
    static func record(_ feeds: [[UInt8]], verdict: FrameVerdict, observe: [UInt8] = [Z]) throws -> [[String]] {
        var splitter = FrameSplitter(intercept: FrameTypeSet(), observe: FrameTypeSet(observe), maxFrameLength: 1 << 16)
        var all: [[String]] = []
        for feed in feeds {
            var events: [String] = []
            try splitter.feedDirected(ByteBuffer(bytes: feed)) { event in
                switch event {
                case .bytes(let b): events.append("bytes \(b.readableBytes)")
                case .observed(let t, _): events.append("observed \(Character(Unicode.Scalar(t)))")
                case .cut: events.append("cut")
                case .intercepted, .counted: events.append("?")
                }
                return verdict
            }
            all.append(events)
        }
        #expect(splitter.atFrameBoundary)
        return all
    }

    struct CarryCase: Sendable, CustomTestStringConvertible {
        var verdict: FrameVerdict
        /// Where the observed frame is split between the two feeds (bytes of it in the first).
        var split: Int
        var events: [[String]]
        var testDescription: String { "\(verdict) split at \(split)" }
    }

    // Feed 1: D(6 bytes) + the first `split` bytes of Z(6 bytes); feed 2: the rest of Z + D(6 bytes).
    static let carryCases: [CarryCase] = [1, 2, 4, 5].flatMap { split in
        [
            CarryCase(verdict: .pass, split: split, events: [["bytes 6"], ["observed Z", "bytes 6", "bytes 6"]]),
            CarryCase(verdict: .drop, split: split, events: [["bytes 6"], ["observed Z", "cut", "bytes 6"]]),
            CarryCase(verdict: .cutAfter, split: split, events: [["bytes 6"], ["observed Z", "bytes 6", "cut", "bytes 6"]]),
        ]
    }

    @Test(arguments: carryCases)
    func carriedFrameIsAnsweredWhenComplete(_ c: CarryCase) throws {
        let a = F(type: D, tag: "a").bytes, z = F(type: Z, tag: "z").bytes, b = F(type: D, tag: "b").bytes
        let got = try Self.record([a + z[..<c.split], Array(z[c.split...]) + b], verdict: c.verdict)
        #expect(got == c.events)
    }

    @Test func frameCarriedOverManyFeedsIsAnsweredOnce() throws {
        let z = F(type: Z, tag: "z", padding: 3).bytes
        let got = try Self.record(z.map { [$0] }, verdict: .drop)
        #expect(got == Array(repeating: [], count: z.count - 1) + [["observed Z", "cut"]])
    }

    @Test func droppedCarriedFrameFollowedByAnotherInTheSameFeed() throws {
        let z1 = F(type: Z, tag: "x").bytes, z2 = F(type: Z, tag: "y").bytes, b = F(type: D, tag: "b").bytes
        let got = try Self.record([Array(z1[..<3]), Array(z1[3...]) + z2 + b], verdict: .drop)
        #expect(got == [[], ["observed Z", "cut", "observed Z", "cut", "bytes 6"]])
    }

    // MARK: rules changed between feeds

    /// Feeds each piece under rules observing the types given for it; every observed frame is dropped.
    static func feedChanging(_ feeds: [(observe: [UInt8], bytes: [UInt8])]) throws -> (stream: [UInt8], observed: [Character]) {
        var splitter = FrameSplitter(intercept: FrameTypeSet(), observe: FrameTypeSet(), maxFrameLength: 1 << 16)
        var stream: [UInt8] = []
        var observed: [Character] = []
        var lastTag: UInt8 = 0
        for feed in feeds {
            splitter.rules = FrameRules(intercept: FrameTypeSet(), observe: FrameTypeSet(feed.observe), maxFrameLength: 1 << 16)
            try splitter.feedDirected(ByteBuffer(bytes: feed.bytes)) { event in
                switch event {
                case .bytes(let b): stream += Array(b.readableBytesView)
                case .observed(_, let body):
                    lastTag = body.getInteger(at: body.readerIndex, as: UInt8.self)!
                    observed.append(Character(Unicode.Scalar(lastTag)))
                    return .drop
                case .cut: stream += insertion(after: lastTag)
                case .intercepted, .counted: break
                }
                return .pass
            }
        }
        #expect(splitter.atFrameBoundary)
        return (stream, observed)
    }

    @Test func typesAddedAndRemovedBetweenFeeds() throws {
        let got = try Self.feedChanging([
            ([Z], F(type: one, tag: "a").bytes + F(type: Z, tag: "b").bytes),
            ([Z, one], F(type: one, tag: "c").bytes + F(type: Z, tag: "d").bytes),
            ([], F(type: one, tag: "e").bytes + F(type: Z, tag: "f").bytes),
        ])
        let want = F(type: one, tag: "a").bytes + Self.insertion(after: UInt8(ascii: "b"))
            + Self.insertion(after: UInt8(ascii: "c")) + Self.insertion(after: UInt8(ascii: "d"))
            + F(type: one, tag: "e").bytes + F(type: Z, tag: "f").bytes
        #expect(got.stream == want)
        #expect(got.observed == ["b", "c", "d"])
    }

    @Test func typeAddedWhileItsHeaderIsCarried() throws {
        // The frame's type is decided once its header is whole, by the set in force then.
        let a = F(type: D, tag: "a").bytes, c = F(type: one, tag: "c").bytes
        let got = try Self.feedChanging([([], a + c[..<2]), ([one], Array(c[2...]))])
        #expect(got.stream == a + Self.insertion(after: UInt8(ascii: "c")))
        #expect(got.observed == ["c"])
    }

    @Test func typeAddedWhileAFrameOfItIsStreamed() throws {
        // The frame already being streamed passes on; the next one of that type is observed.
        let big = F(type: d, tag: "x", padding: 100).bytes, small = F(type: d, tag: "y").bytes
        let got = try Self.feedChanging([([], Array(big[..<20])), ([d], Array(big[20...]) + small)])
        #expect(got.stream == big + Self.insertion(after: UInt8(ascii: "y")))
        #expect(got.observed == ["y"])
    }

    @Test func typeRemovedWhileAFrameOfItIsCarried() throws {
        // The set in force when the frame completes decides: no longer observed, it is forwarded whole.
        let z = F(type: Z, tag: "z", padding: 4).bytes, b = F(type: D, tag: "b").bytes
        let got = try Self.feedChanging([([Z], Array(z[..<7])), ([], Array(z[7...]) + b)])
        #expect(got.stream == z + b)
        #expect(got.observed.isEmpty)
    }
}
