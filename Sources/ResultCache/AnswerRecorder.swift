// The answer to one cacheable request, copied as it goes to the client: kept only if it is whole, plain and small
// enough (no error, notice, notification, setting change, suspended portal or COPY; idle at the end).
import NIOCore

public struct AnswerRecorder: Sendable {
    public enum Progress: Sendable, Equatable {
        case more
        /// The whole answer, ReadyForQuery (idle) last.
        case done(ByteBuffer)
        /// Not to be kept, and nothing more to record.
        case abandoned(Abandoned)
    }

    public enum Abandoned: String, Sendable, Equatable {
        case tooBig, notPlain, notIdle, malformed
    }

    public let limit: Int
    private var answer: ByteBuffer
    /// Bytes of a frame header or body still to come, across reads.
    private var pending = ByteBuffer()
    private var finished = false

    public init(limit: Int) {
        self.limit = limit
        answer = ByteBuffer()
    }

    /// Messages a kept answer may hold: ParseComplete, BindComplete, ParameterDescription, RowDescription, NoData,
    /// DataRow, CommandComplete, ReadyForQuery.
    static let plain: Set<UInt8> = [UInt8(ascii: "1"), UInt8(ascii: "2"), UInt8(ascii: "t"), UInt8(ascii: "T"), UInt8(ascii: "n"),
                                    UInt8(ascii: "D"), UInt8(ascii: "C"), UInt8(ascii: "Z")]

    /// Bytes the client is about to get, in order.
    public mutating func feed(_ bytes: ByteBuffer) -> Progress {
        guard !finished else { return .abandoned(.malformed) }
        guard answer.readableBytes + pending.readableBytes + bytes.readableBytes <= limit else { return give(.tooBig) }
        var input = bytes
        if pending.readableBytes > 0 {
            pending.writeBuffer(&input)
            input = pending
            pending = ByteBuffer()
        }
        while input.readableBytes >= 5 {
            guard let type = input.getInteger(at: input.readerIndex, as: UInt8.self),
                  let length = input.getInteger(at: input.readerIndex + 1, as: Int32.self), length >= 4 else { return give(.malformed) }
            guard Self.plain.contains(type) else { return give(.notPlain) }
            let whole = Int(length) + 1
            guard input.readableBytes >= whole, var frame = input.readSlice(length: whole) else { break }
            if type == UInt8(ascii: "Z") {
                guard whole == 6, frame.getInteger(at: frame.readerIndex + 5, as: UInt8.self) == UInt8(ascii: "I") else { return give(.notIdle) }
                // One request, one ReadyForQuery: anything after it is another request's.
                guard input.readableBytes == 0 else { return give(.malformed) }
                answer.writeBuffer(&frame)
                finished = true
                return .done(answer)
            }
            answer.writeBuffer(&frame)
        }
        if input.readableBytes > 0 { pending = input }
        return .more
    }

    private mutating func give(_ why: Abandoned) -> Progress {
        finished = true
        answer = ByteBuffer()
        pending = ByteBuffer()
        return .abandoned(why)
    }
}
