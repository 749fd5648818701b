// Walks a byte stream of typed frames without copying: forwards runs verbatim, lifts out the frames the proxy must read.
import NIOCore

/// A set of message type bytes, as a 256-bit table so the hot path tests membership with one shift.
public struct FrameTypeSet: Sendable {
    @usableFromInline var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

    public init(_ types: [UInt8] = []) {
        for t in types { insert(t) }
    }

    public mutating func insert(_ t: UInt8) {
        let bit = UInt64(1) << UInt64(t & 63)
        switch t >> 6 {
        case 0: words.0 |= bit
        case 1: words.1 |= bit
        case 2: words.2 |= bit
        default: words.3 |= bit
        }
    }

    @inlinable
    public func contains(_ t: UInt8) -> Bool {
        let bit = UInt64(1) << UInt64(t & 63)
        switch t >> 6 {
        case 0: return words.0 & bit != 0
        case 1: return words.1 & bit != 0
        case 2: return words.2 & bit != 0
        default: return words.3 & bit != 0
        }
    }
}

public enum FrameEvent {
    /// Bytes to forward unchanged (whole frames, or part of a large frame being streamed through).
    case bytes(ByteBuffer)
    /// An intercepted frame, whole (type byte, length and body); it is not part of any `.bytes`.
    case intercepted(type: UInt8, frame: ByteBuffer)
    /// An observed frame's body; the frame itself is also forwarded inside `.bytes`.
    case observed(type: UInt8, body: ByteBuffer)
    /// A counted frame's header was seen; its bytes are forwarded inside `.bytes`.
    case counted(type: UInt8)
    /// Follows an observed frame answered `.drop` or `.cutAfter`: everything before this point has been
    /// emitted, nothing after it, so the caller may put bytes of its own here.
    case cut
}

/// What the caller wants done with an observed frame (other events ignore the answer).
public enum FrameVerdict: Sendable {
    /// Forward it inside the surrounding run.
    case pass
    /// Do not forward it; a `.cut` marks where it was.
    case drop
    /// Forward it, then end the run with a `.cut` right after it.
    case cutAfter
}

/// Which frame types a splitter lifts out, watches or counts, and how long they may be. A class, shared by every
/// connection with the same rules: an idle client does not carry its own 136 bytes of tables.
public final class FrameRules: Sendable {
    public let intercept: FrameTypeSet
    public let observe: FrameTypeSet
    public let count: FrameTypeSet
    /// Types whose length must not exceed `maxFrameLength` even when they are streamed (Query, Parse, ...).
    public let bounded: FrameTypeSet
    public let maxFrameLength: Int

    public init(intercept: FrameTypeSet, observe: FrameTypeSet, count: FrameTypeSet = FrameTypeSet(), bounded: FrameTypeSet = FrameTypeSet(), maxFrameLength: Int) {
        self.intercept = intercept
        self.observe = observe
        self.count = count
        self.bounded = bounded
        self.maxFrameLength = maxFrameLength
    }
}

/// Splits one direction of a connection. Frames of types that are neither intercepted nor observed are
/// never held: a 1 GB CopyData passes through in whatever pieces the socket delivers.
public struct FrameSplitter: Sendable {
    /// Replaceable between feeds: a connection may watch more frame types while it has replies to rearrange.
    public var rules: FrameRules

    /// A partial header, or a partial intercepted/observed frame, waiting for more bytes.
    private var carry: ByteBuffer?
    /// Bytes of a streamed frame that have not arrived yet.
    private var passRemaining = 0

    public init(rules: FrameRules) {
        self.rules = rules
    }

    /// A splitter with rules of its own (for rules shared between connections, build them once and use `init(rules:)`).
    public init(intercept: FrameTypeSet, observe: FrameTypeSet, count: FrameTypeSet = FrameTypeSet(), bounded: FrameTypeSet = FrameTypeSet(), maxFrameLength: Int) {
        self.init(rules: FrameRules(intercept: intercept, observe: observe, count: count, bounded: bounded, maxFrameLength: maxFrameLength))
    }

    /// True when the stream stands exactly between two frames.
    public var atFrameBoundary: Bool { carry == nil && passRemaining == 0 }

    public mutating func feed(_ input: ByteBuffer, _ emit: (FrameEvent) throws -> Void) throws {
        try feedDirected(input) { event in
            try emit(event)
            return .pass
        }
    }

    /// `feed`, where the answer to each `.observed` event decides whether that frame is forwarded.
    public mutating func feedDirected(_ input: ByteBuffer, _ emit: (FrameEvent) throws -> FrameVerdict) throws {
        var input = input
        if passRemaining > 0 {
            let n = min(passRemaining, input.readableBytes)
            passRemaining -= n
            _ = try emit(.bytes(input.readSlice(length: n)!))
        }
        if carry != nil {
            guard try completeCarry(&input, emit) else { return }
        }
        try scan(input, emit)
    }

    /// Tops up the carried partial frame from `input`. Returns false while it is still incomplete.
    private mutating func completeCarry(_ input: inout ByteBuffer, _ emit: (FrameEvent) throws -> FrameVerdict) throws -> Bool {
        var c = carry!
        carry = nil
        if c.readableBytes < 5 {
            let need = 5 - c.readableBytes
            var head = input.readSlice(length: min(need, input.readableBytes))!
            c.writeBuffer(&head)
            if c.readableBytes < 5 {
                carry = c
                return false
            }
        }
        let type = c.getInteger(at: c.readerIndex, as: UInt8.self)!
        let total = try frameLength(c, at: c.readerIndex, type: type)
        if rules.intercept.contains(type) || rules.observe.contains(type) {
            let need = total - c.readableBytes
            var more = input.readSlice(length: min(need, input.readableBytes))!
            c.writeBuffer(&more)
            if c.readableBytes < total {
                carry = c
                return false
            }
            try deliverWhole(type, c, emit)
        } else {
            if rules.count.contains(type) { _ = try emit(.counted(type: type)) }
            let rest = total - c.readableBytes
            _ = try emit(.bytes(c))
            let n = min(rest, input.readableBytes)
            passRemaining = rest - n
            if n > 0 { _ = try emit(.bytes(input.readSlice(length: n)!)) }
        }
        return true
    }

    private mutating func scan(_ buf: ByteBuffer, _ emit: (FrameEvent) throws -> FrameVerdict) throws {
        let end = buf.writerIndex
        var runStart = buf.readerIndex
        var pos = runStart
        // The tables in locals: one reference read per feed, not per frame (rules change only between feeds).
        let intercept = rules.intercept, observe = rules.observe, count = rules.count
        while pos < end {
            if end - pos < 5 {
                if pos > runStart { _ = try emit(.bytes(buf.getSlice(at: runStart, length: pos - runStart)!)) }
                carry = copyTail(buf, from: pos, upTo: end, reserve: 5)
                return
            }
            let type = buf.getInteger(at: pos, as: UInt8.self)!
            let total = try frameLength(buf, at: pos, type: type)
            let wanted = intercept.contains(type)
            if wanted || observe.contains(type) {
                if end - pos < total {
                    if pos > runStart { _ = try emit(.bytes(buf.getSlice(at: runStart, length: pos - runStart)!)) }
                    carry = copyTail(buf, from: pos, upTo: end, reserve: total)
                    return
                }
                if wanted {
                    if pos > runStart { _ = try emit(.bytes(buf.getSlice(at: runStart, length: pos - runStart)!)) }
                    _ = try emit(.intercepted(type: type, frame: buf.getSlice(at: pos, length: total)!))
                    pos += total
                    runStart = pos
                } else {
                    switch try emit(.observed(type: type, body: buf.getSlice(at: pos + 5, length: total - 5)!)) {
                    case .pass:
                        pos += total
                    case .drop:
                        if pos > runStart { _ = try emit(.bytes(buf.getSlice(at: runStart, length: pos - runStart)!)) }
                        _ = try emit(.cut)
                        pos += total
                        runStart = pos
                    case .cutAfter:
                        pos += total
                        _ = try emit(.bytes(buf.getSlice(at: runStart, length: pos - runStart)!))
                        _ = try emit(.cut)
                        runStart = pos
                    }
                }
            } else {
                if count.contains(type) { _ = try emit(.counted(type: type)) }
                if end - pos < total {
                    passRemaining = total - (end - pos)
                    pos = end
                } else {
                    pos += total
                }
            }
        }
        if pos > runStart { _ = try emit(.bytes(buf.getSlice(at: runStart, length: pos - runStart)!)) }
    }

    private func deliverWhole(_ type: UInt8, _ frame: ByteBuffer, _ emit: (FrameEvent) throws -> FrameVerdict) throws {
        if rules.intercept.contains(type) {
            _ = try emit(.intercepted(type: type, frame: frame))
            return
        }
        switch try emit(.observed(type: type, body: frame.getSlice(at: frame.readerIndex + 5, length: frame.readableBytes - 5)!)) {
        case .pass:
            _ = try emit(.bytes(frame))
        case .drop:
            _ = try emit(.cut)
        case .cutAfter:
            _ = try emit(.bytes(frame))
            _ = try emit(.cut)
        }
    }

    /// The whole frame's size (type byte included), checked before anything is allocated for it.
    private func frameLength(_ buf: ByteBuffer, at pos: Int, type: UInt8) throws -> Int {
        let len = Int(buf.getInteger(at: pos + 1, as: Int32.self)!)
        guard len >= 4 else {
            throw ProtocolViolation("invalid length \(len) in message \(describeType(type))")
        }
        let rules = rules
        if len > rules.maxFrameLength && (rules.intercept.contains(type) || rules.observe.contains(type) || rules.bounded.contains(type)) {
            throw ProtocolViolation("message \(describeType(type)) of \(len) bytes exceeds max_packet_size (\(rules.maxFrameLength))")
        }
        return len + 1
    }

    private func copyTail(_ buf: ByteBuffer, from: Int, upTo end: Int, reserve: Int) -> ByteBuffer {
        var tail = buf.getSlice(at: from, length: end - from)!
        var c = ByteBufferAllocator().buffer(capacity: max(reserve, tail.readableBytes))
        c.writeBuffer(&tail)
        return c
    }
}

/// Reads whole typed frames from an accumulating buffer: for the short login phases, not the data path.
public enum WholeFrameReader {
    /// Removes and returns the next complete frame (type, body), or nil if more bytes are needed.
    public static func next(_ buffer: inout ByteBuffer, maxLength: Int) throws -> (type: UInt8, body: ByteBuffer)? {
        guard buffer.readableBytes >= 5 else { return nil }
        let type = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self)!
        let len = Int(buffer.getInteger(at: buffer.readerIndex + 1, as: Int32.self)!)
        guard len >= 4 else { throw ProtocolViolation("invalid length \(len) in message \(describeType(type))") }
        guard len <= maxLength else {
            throw ProtocolViolation("message \(describeType(type)) of \(len) bytes exceeds max_packet_size (\(maxLength))")
        }
        guard buffer.readableBytes >= len + 1 else { return nil }
        buffer.moveReaderIndex(forwardBy: 5)
        return (type, buffer.readSlice(length: len - 4)!)
    }

    /// The same for untyped startup packets (length + body); PostgreSQL caps them at 10,000 bytes.
    public static func nextStartup(_ buffer: inout ByteBuffer, maxLength: Int = 10_000) throws -> ByteBuffer? {
        guard buffer.readableBytes >= 4 else { return nil }
        let len = Int(buffer.getInteger(at: buffer.readerIndex, as: Int32.self)!)
        guard len >= StartupPacket.minimumLength, len <= maxLength else {
            throw ProtocolViolation("invalid startup packet length \(len)")
        }
        guard buffer.readableBytes >= len else { return nil }
        buffer.moveReaderIndex(forwardBy: 4)
        return buffer.readSlice(length: len - 4)!
    }
}
