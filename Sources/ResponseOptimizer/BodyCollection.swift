// Reading a response body whole, for the middlewares that must see all of it (ETag, field filtering, compression).
import HTTPTypes
import Hummingbird
import NIOCore

/// Receives what a ResponseBody writes. A class box: ResponseBodyWriter's finish is consuming.
final class CollectedBody: @unchecked Sendable {
    var buffer = ByteBuffer()
    var written = false
    var trailers: HTTPFields?
}

struct CollectingWriter: ResponseBodyWriter {
    let box: CollectedBody

    mutating func write(_ buffer: ByteBuffer) async throws {
        // A body written in one piece (the usual case) is kept as it is, not copied.
        if !box.written {
            box.written = true
            box.buffer = buffer
            return
        }
        var b = buffer
        box.buffer.writeBuffer(&b)
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {
        box.trailers = trailingHeaders
    }
}

extension Response {
    /// The body, if its length is known and at most `limit` bytes; nil for streamed or larger bodies (left untouched).
    func collectedBody(limit: Int) async throws -> ByteBuffer? {
        guard let length = body.contentLength, length <= limit else { return nil }
        let box = CollectedBody()
        try await body.write(CollectingWriter(box: box))
        return box.buffer
    }
}
