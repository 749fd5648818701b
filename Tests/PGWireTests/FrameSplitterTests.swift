// The streaming splitter over real recorded byte streams cut into every chunk size, and its length guards.
import NIOCore
import Testing

@testable import PGWire

@Suite("FrameSplitter")
struct FrameSplitterTests {
    struct Outcome: Equatable {
        var forwarded: [UInt8] = []
        var intercepted: [[UInt8]] = []
        var observed: [[UInt8]] = []
        var counted: [UInt8] = []
    }

    /// Runs `stream` through a splitter in chunks of the given sizes (cycled) and gathers what came out.
    static func run(_ stream: [UInt8], chunks: [Int], intercept: [UInt8], observe: [UInt8], count: [UInt8]) throws -> Outcome {
        var splitter = FrameSplitter(intercept: FrameTypeSet(intercept), observe: FrameTypeSet(observe), count: FrameTypeSet(count), maxFrameLength: 1 << 24)
        var out = Outcome()
        var offset = 0
        var i = 0
        while offset < stream.count {
            let n = min(chunks[i % chunks.count], stream.count - offset)
            i += 1
            let chunk = ByteBuffer(bytes: stream[offset..<offset + n])
            offset += n
            try splitter.feed(chunk) { event in
                switch event {
                case .bytes(let b): out.forwarded += Array(b.readableBytesView)
                case .intercepted(_, let f): out.intercepted.append(Array(f.readableBytesView))
                case .observed(let t, let body): out.observed.append([t] + Array(body.readableBytesView))
                case .counted(let t): out.counted.append(t)
                case .cut: Issue.record("feed never cuts")
                }
            }
        }
        #expect(splitter.atFrameBoundary)
        return out
    }

    /// What the splitter should produce, computed frame by frame from the recording.
    static func expected(_ frames: [[UInt8]], intercept: Set<UInt8>, observe: Set<UInt8>, count: Set<UInt8>) -> Outcome {
        var out = Outcome()
        for f in frames {
            let t = f[0]
            if intercept.contains(t) {
                out.intercepted.append(f)
                continue
            }
            out.forwarded += f
            if observe.contains(t) { out.observed.append([t] + f[5...]) }
            if count.contains(t) && !observe.contains(t) { out.counted.append(t) }
        }
        return out
    }

    @Test(arguments: FixtureCorpus.fileNames)
    func backendStreamsSurviveAnyChunking(file: String) throws {
        let frames = try FixtureCorpus.frames(in: file).filter { $0.kind == .typedBackend }.map(\.bytes)
        let stream = frames.flatMap { $0 }
        let want = Self.expected(frames, intercept: [], observe: [0x5A, 0x53], count: [0x44])
        var rng = SystemRandomNumberGenerator()
        let random = (0..<50).map { _ in Int.random(in: 1...300, using: &rng) }
        for chunks in [[1], [7], [5], [4096], [stream.count], random] {
            let got = try Self.run(stream, chunks: chunks, intercept: [], observe: [0x5A, 0x53], count: [0x44])
            #expect(got == want, "\(file) chunked by \(chunks.prefix(3))")
        }
    }

    @Test(arguments: FixtureCorpus.fileNames)
    func frontendTerminateIsLiftedOut(file: String) throws {
        let frames = try FixtureCorpus.frames(in: file).filter { $0.kind == .typedFrontend }.map(\.bytes)
        let stream = frames.flatMap { $0 }
        let want = Self.expected(frames, intercept: [0x58], observe: [], count: [0x51, 0x53])
        for chunks in [[1], [3], [6], [1 << 16]] {
            let got = try Self.run(stream, chunks: chunks, intercept: [0x58], observe: [], count: [0x51, 0x53])
            #expect(got == want, "\(file) chunked by \(chunks)")
        }
    }

    @Test func largeStreamedFrameIsNeverHeld() throws {
        // A 1 MiB CopyData passes in the pieces it arrived in; nothing is buffered.
        var frame: [UInt8] = [0x64]
        let len = Int32(4 + 1 << 20)
        frame += withUnsafeBytes(of: len.bigEndian) { Array($0) }
        frame += [UInt8](repeating: 0xAB, count: 1 << 20)
        var splitter = FrameSplitter(intercept: FrameTypeSet(), observe: FrameTypeSet([0x5A]), maxFrameLength: 1024)
        var pieces = 0
        var total = 0
        var offset = 0
        while offset < frame.count {
            let n = min(65536, frame.count - offset)
            try splitter.feed(ByteBuffer(bytes: frame[offset..<offset + n])) { event in
                if case .bytes(let b) = event {
                    pieces += 1
                    total += b.readableBytes
                    #expect(b.readableBytes <= 65536)
                }
            }
            offset += n
        }
        #expect(total == frame.count)
        #expect(pieces == 17)
        #expect(splitter.atFrameBoundary)
    }

    @Test func oversizedBoundedFrameIsRefusedFromItsHeader() {
        var splitter = FrameSplitter(intercept: FrameTypeSet(), observe: FrameTypeSet(), bounded: FrameTypeSet([0x51]), maxFrameLength: 1000)
        // Only the header of a "2 GiB" Query: refused before anything is allocated for it.
        let header = ByteBuffer(bytes: [0x51, 0x7F, 0xFF, 0xFF, 0xFF])
        #expect(throws: ProtocolViolation.self) { try splitter.feed(header) { _ in } }
    }

    @Test func lengthBelowFourIsAViolation() {
        var splitter = FrameSplitter(intercept: FrameTypeSet(), observe: FrameTypeSet(), maxFrameLength: 1000)
        #expect(throws: ProtocolViolation.self) { try splitter.feed(ByteBuffer(bytes: [0x51, 0, 0, 0, 3])) { _ in } }
    }

    @Test func wholeFrameReaderGuards() throws {
        var b = ByteBuffer(bytes: [0x70, 0x7F, 0xFF, 0xFF, 0xFF])
        #expect(throws: ProtocolViolation.self) { try WholeFrameReader.next(&b, maxLength: 65536) }
        var s = ByteBuffer(bytes: [0x7F, 0xFF, 0xFF, 0xFF])
        #expect(throws: ProtocolViolation.self) { try WholeFrameReader.nextStartup(&s) }
        var short = ByteBuffer(bytes: [0, 0, 0, 3])
        #expect(throws: ProtocolViolation.self) { try WholeFrameReader.nextStartup(&short) }
        var partial = ByteBuffer(bytes: [0, 0, 0, 8, 0x04])
        #expect(try WholeFrameReader.nextStartup(&partial) == nil)
    }
}
