// Round trips of real PostgreSQL wire-protocol recordings (pgwire-fixtures/*.pgw)
// through the PGWire decoders and encoders: every recorded frame must decode,
// and encoding the decoded message must give back exactly the recorded bytes.
// The fixture format is described in pgwire-fixtures/README.md; the files are
// made by tools/record-fixtures.sh.
import Foundation
import NIOCore
import Testing
@testable import PGWire

/// One frame line of a fixture file.
struct FixtureFrame: Sendable {
    enum Kind: Hashable, Sendable {
        /// `f`: length + body, no type byte (StartupMessage, SSLRequest, GSSENCRequest, CancelRequest).
        case untypedFrontend
        /// `F`: type byte + length + body, client to server.
        case typedFrontend
        /// `B`: type byte + length + body, server to client.
        case typedBackend
        /// `b`: one bare byte from the server (the 'N' declining SSL or GSS encryption).
        case backendByte
    }

    var file: String
    var line: Int
    var kind: Kind
    var bytes: [UInt8]

    var location: String { "\(file):\(line)" }
}

struct FixtureFormatError: Error, CustomStringConvertible {
    var description: String
}

enum FixtureCorpus {
    /// `<repo>/pgwire-fixtures`; this file is `<repo>/Tests/PGWireTests/FixtureRoundTripTests.swift`.
    static let directory: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // Tests/PGWireTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // repository root
        .appendingPathComponent("pgwire-fixtures", isDirectory: true)

    /// Names of the `*.pgw` files, sorted.
    static let fileNames: [String] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasSuffix(".pgw") }.sorted()
    }()

    /// Parses one fixture file into its frame lines (comments and blank lines are skipped).
    static func frames(in name: String) throws -> [FixtureFrame] {
        let url = directory.appendingPathComponent(name)
        let text = try String(contentsOf: url, encoding: .utf8)
        var frames: [FixtureFrame] = []
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        for (index, rawLine) in lines.enumerated() {
            let lineNumber = index + 1
            let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine
            if line.isEmpty || line.hasPrefix("#") { continue }
            let utf8 = Array(line.utf8)
            guard utf8.count >= 3, utf8[1] == UInt8(ascii: " ") else {
                throw FixtureFormatError(description: "\(name):\(lineNumber): not a frame line")
            }
            let kind: FixtureFrame.Kind
            switch utf8[0] {
            case UInt8(ascii: "f"): kind = .untypedFrontend
            case UInt8(ascii: "F"): kind = .typedFrontend
            case UInt8(ascii: "B"): kind = .typedBackend
            case UInt8(ascii: "b"): kind = .backendByte
            default:
                throw FixtureFormatError(description: "\(name):\(lineNumber): unknown line tag")
            }
            guard let bytes = decodeHex(utf8[2...]) else {
                throw FixtureFormatError(description: "\(name):\(lineNumber): invalid hex")
            }
            frames.append(FixtureFrame(file: name, line: lineNumber, kind: kind, bytes: bytes))
        }
        return frames
    }

    /// Lowercase hex digits to bytes; nil for odd length or any other character.
    static func decodeHex(_ digits: ArraySlice<UInt8>) -> [UInt8]? {
        guard digits.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(digits.count / 2)
        var i = digits.startIndex
        while i < digits.endIndex {
            guard let high = nibble(digits[i]), let low = nibble(digits[i + 1]) else { return nil }
            out.append(high << 4 | low)
            i += 2
        }
        return out
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        default: return nil
        }
    }
}

/// The checks, each returning a description of what is wrong with a frame, or nil.
enum FixtureChecks {
    /// A type byte for messages: 'Q', or 0x07 when it is not printable.
    static func typeName(_ type: UInt8) -> String {
        if type >= 0x20 && type < 0x7F { return "'\(Character(Unicode.Scalar(type)))'" }
        return "0x" + String(type, radix: 16)
    }

    static func bigEndianInt32(_ bytes: [UInt8], at offset: Int) -> Int32 {
        var value: UInt32 = 0
        for i in offset..<(offset + 4) { value = value << 8 | UInt32(bytes[i]) }
        return Int32(bitPattern: value)
    }

    static func hex(_ bytes: [UInt8], around index: Int) -> String {
        let low = max(0, index - 8)
        let high = min(bytes.count, index + 8)
        guard low < high else { return "(end)" }
        let digits = bytes[low..<high].map { byte -> String in
            let s = String(byte, radix: 16)
            return s.count == 1 ? "0" + s : s
        }
        return "…" + digits.joined() + "… (from byte \(low))"
    }

    /// nil when equal, otherwise where the two byte strings first differ.
    static func difference(got: [UInt8], expected: [UInt8]) -> String? {
        if got == expected { return nil }
        var i = 0
        while i < got.count, i < expected.count, got[i] == expected[i] { i += 1 }
        return "re-encoded \(got.count) bytes, recorded \(expected.count); first difference at byte \(i): "
            + "got \(hex(got, around: i)), recorded \(hex(expected, around: i))"
    }

    /// Typed frame (`F` or `B`): the length field, decode, encode, compare, decode again.
    static func typedProblem<M: Equatable>(
        _ bytes: [UInt8],
        decode: (UInt8, ByteBuffer) throws -> M,
        encode: (M, inout ByteBuffer) -> Void
    ) -> String? {
        guard bytes.count >= 5 else { return "typed frame shorter than 5 bytes" }
        let length = Int(bigEndianInt32(bytes, at: 1))
        guard length == bytes.count - 1 else {
            return "length field \(length) but \(bytes.count - 1) bytes after the type byte"
        }
        let type = bytes[0]
        let message: M
        do {
            message = try decode(type, ByteBuffer(bytes: bytes[5...]))
        } catch {
            return "decode of type \(FixtureChecks.typeName(type)) threw: \(error)"
        }
        var out = ByteBuffer()
        encode(message, &out)
        let encoded = Array(out.readableBytesView)
        if let diff = difference(got: encoded, expected: bytes) {
            return "type \(FixtureChecks.typeName(type)): \(diff)"
        }
        // The encoding is the recorded frame, so decoding it again must give an equal message.
        do {
            let again = try decode(encoded[0], ByteBuffer(bytes: encoded[5...]))
            if again != message { return "type \(FixtureChecks.typeName(type)): decoding the re-encoded frame gives a different message" }
        } catch {
            return "type \(FixtureChecks.typeName(type)): decoding the re-encoded frame threw: \(error)"
        }
        return nil
    }

    /// Untyped frame (`f`): length + body through StartupPacket.
    static func untypedProblem(_ bytes: [UInt8]) -> String? {
        guard bytes.count >= 8 else { return "untyped packet shorter than 8 bytes" }
        let length = Int(bigEndianInt32(bytes, at: 0))
        guard length == bytes.count else { return "length field \(length) but \(bytes.count) bytes" }
        let packet: StartupPacket
        do {
            packet = try StartupPacket.decode(body: ByteBuffer(bytes: bytes[4...]))
        } catch {
            return "StartupPacket.decode threw: \(error)"
        }
        var out = ByteBuffer()
        packet.encode(into: &out)
        return difference(got: Array(out.readableBytesView), expected: bytes)
    }

    static func roundTripProblem(_ frame: FixtureFrame) -> String? {
        switch frame.kind {
        case .backendByte:
            guard frame.bytes.count == 1 else { return "a 'b' line must hold exactly one byte" }
            let allowed: Set<UInt8> = [UInt8(ascii: "N"), UInt8(ascii: "S"), UInt8(ascii: "G")]
            return allowed.contains(frame.bytes[0]) ? nil : "unexpected single backend byte \(frame.bytes[0])"
        case .untypedFrontend:
            return untypedProblem(frame.bytes)
        case .typedFrontend:
            return typedProblem(
                frame.bytes,
                decode: { (type: UInt8, body: ByteBuffer) throws -> FrontendMessage in
                    try FrontendMessage.decode(type: type, body: body)
                },
                encode: { (message: FrontendMessage, buffer: inout ByteBuffer) in message.encode(into: &buffer) })
        case .typedBackend:
            return typedProblem(
                frame.bytes,
                decode: { (type: UInt8, body: ByteBuffer) throws -> BackendMessage in
                    try BackendMessage.decode(type: type, body: body)
                },
                encode: { (message: BackendMessage, buffer: inout ByteBuffer) in message.encode(into: &buffer) })
        }
    }

    /// Appends one byte to the body (and adds one to the length). An exact decoder either
    /// rejects the longer body or keeps the extra byte (CopyData, SASL data): in both cases it
    /// must not decode to a message that quietly re-encodes without it.
    static func trailingByteProblem(_ frame: FixtureFrame) -> String? {
        let extra: UInt8 = 0
        switch frame.kind {
        case .backendByte:
            return nil
        case .untypedFrontend:
            guard frame.bytes.count >= 8 else { return nil }
            var longer = Array(frame.bytes[4...])
            longer.append(extra)
            guard let packet = try? StartupPacket.decode(body: ByteBuffer(bytes: longer)) else { return nil }
            var out = ByteBuffer()
            packet.encode(into: &out)
            var expected = withLength(Int32(frame.bytes.count + 1))
            expected += longer
            return difference(got: Array(out.readableBytesView), expected: expected).map {
                "a trailing byte after the body was silently dropped: \($0)"
            }
        case .typedFrontend, .typedBackend:
            guard frame.bytes.count >= 5 else { return nil }
            let type = frame.bytes[0]
            var longer = Array(frame.bytes[5...])
            longer.append(extra)
            var out = ByteBuffer()
            if frame.kind == .typedFrontend {
                guard let message = try? FrontendMessage.decode(type: type, body: ByteBuffer(bytes: longer)) else { return nil }
                message.encode(into: &out)
            } else {
                guard let message = try? BackendMessage.decode(type: type, body: ByteBuffer(bytes: longer)) else { return nil }
                message.encode(into: &out)
            }
            var expected = [type] + withLength(Int32(frame.bytes.count))  // (count - 1) + 1: one more body byte
            expected += longer
            return difference(got: Array(out.readableBytesView), expected: expected).map {
                "type \(FixtureChecks.typeName(type)): a trailing byte after the body was silently dropped: \($0)"
            }
        }
    }

    static func withLength(_ length: Int32) -> [UInt8] {
        let v = UInt32(bitPattern: length)
        return [UInt8(v >> 24 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)]
    }
}

@Suite("Fixture round trips")
struct FixtureRoundTripTests {
    /// Issues recorded per file before the rest are only counted.
    static let reportLimit = 25

    @Test("pgwire-fixtures holds recordings with frames in them")
    func fixturesExist() throws {
        #expect(!FixtureCorpus.fileNames.isEmpty, "no *.pgw files in \(FixtureCorpus.directory.path)")
        for name in FixtureCorpus.fileNames {
            let frames = try FixtureCorpus.frames(in: name)
            #expect(!frames.isEmpty, "\(name) holds no frame lines")
        }
    }

    @Test("every recorded frame decodes and re-encodes to the same bytes", arguments: FixtureCorpus.fileNames)
    func roundTrip(file: String) throws {
        let frames = try FixtureCorpus.frames(in: file)
        var counts: [FixtureFrame.Kind: Int] = [:]
        var failures: [String] = []
        for frame in frames {
            counts[frame.kind, default: 0] += 1
            if let problem = FixtureChecks.roundTripProblem(frame) {
                failures.append("\(frame.location): \(problem)")
            }
        }
        for failure in failures.prefix(Self.reportLimit) {
            Issue.record("\(failure)")
        }
        let summary = "f \(counts[.untypedFrontend] ?? 0), F \(counts[.typedFrontend] ?? 0), "
            + "B \(counts[.typedBackend] ?? 0), b \(counts[.backendByte] ?? 0)"
        #expect(failures.isEmpty, "\(file): \(failures.count) of \(frames.count) frames do not round-trip (\(summary))")
        #expect(!frames.isEmpty, "\(file) holds no frame lines")
    }

    @Test("decoders never leave body bytes unread", arguments: FixtureCorpus.fileNames)
    func noTrailingBytesDropped(file: String) throws {
        let frames = try FixtureCorpus.frames(in: file)
        var failures: [String] = []
        for frame in frames {
            if let problem = FixtureChecks.trailingByteProblem(frame) {
                failures.append("\(frame.location): \(problem)")
            }
        }
        for failure in failures.prefix(Self.reportLimit) {
            Issue.record("\(failure)")
        }
        #expect(failures.isEmpty, "\(file): \(failures.count) of \(frames.count) frames lose a trailing body byte")
    }

    @Test("the fixtures together cover every protocol 3.0 message type in each direction")
    func coverage() throws {
        var frontend: Set<UInt8> = []
        var backend: Set<UInt8> = []
        var untypedCodes: Set<Int32> = []
        for name in FixtureCorpus.fileNames {
            for frame in try FixtureCorpus.frames(in: name) {
                switch frame.kind {
                case .typedFrontend: frontend.insert(frame.bytes[0])
                case .typedBackend: backend.insert(frame.bytes[0])
                case .untypedFrontend where frame.bytes.count >= 8:
                    untypedCodes.insert(FixtureChecks.bigEndianInt32(frame.bytes, at: 4))
                default: break
                }
            }
        }
        let wantFrontend = Set("BCdcfDEHFpPQSX".utf8)
        let wantBackend = Set("RK23CdcGHWDIEVvnNAtS1sZT".utf8)
        let wantUntyped: Set<Int32> = [3 << 16, 80_877_103, 80_877_104, 80_877_102]
        let missingFrontend = wantFrontend.subtracting(frontend).map { FixtureChecks.typeName($0) }.sorted()
        let missingBackend = wantBackend.subtracting(backend).map { FixtureChecks.typeName($0) }.sorted()
        let missingUntyped = wantUntyped.subtracting(untypedCodes).sorted()
        #expect(missingFrontend.isEmpty, "frontend types never recorded: \(missingFrontend)")
        #expect(missingBackend.isEmpty, "backend types never recorded: \(missingBackend)")
        #expect(missingUntyped.isEmpty, "untyped packet codes never recorded: \(missingUntyped)")
    }
}
