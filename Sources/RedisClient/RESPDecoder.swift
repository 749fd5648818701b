// Turns the bytes a Redis server sends into RedisValues, with hiredis's reader as the RESP parser.
import CHiredis
import NIOCore

/// hiredis builds both `$-1` and `*-1` as one NIL object. To keep them apart, the decoder's reader calls this
/// instead of hiredis's own nil builder: it builds the same object and marks a null *array* in the `integer`
/// field, which hiredis leaves zero for NIL replies.
private let hiredisCreateNil: (@convention(c) (UnsafePointer<redisReadTask>?) -> UnsafeMutableRawPointer?)? = {
    guard let reader = redisReaderCreate() else { return nil }
    defer { redisReaderFree(reader) }
    return reader.pointee.fn?.pointee.createNil
}()

private let nullArrayMark: Int64 = 1

/// One per connection and used on its event loop only: hiredis's reader keeps state between feeds.
final class RESPDecoder {
    private let reader: UnsafeMutablePointer<redisReader>
    private let functions: UnsafeMutablePointer<redisReplyObjectFunctions>
    private let allocator = ByteBufferAllocator()

    init() throws(RedisClientError) {
        guard let reader = redisReaderCreate(), let defaults = reader.pointee.fn, hiredisCreateNil != nil else {
            throw RedisClientError(.protocolError, "hiredis could not create a reply reader (out of memory)")
        }
        self.reader = reader
        functions = .allocate(capacity: 1)
        functions.initialize(to: defaults.pointee)
        functions.pointee.createNil = { task in
            let object = hiredisCreateNil?(task)
            if let task, task.pointee.type == REDIS_REPLY_ARRAY, let reply = object?.assumingMemoryBound(to: redisReply.self) {
                reply.pointee.integer = nullArrayMark
            }
            return object
        }
        reader.pointee.fn = functions
    }

    deinit {
        redisReaderFree(reader)
        functions.deallocate()
    }

    /// Hands received bytes to the parser; they are copied, so the buffer may be released afterwards.
    func feed(_ buffer: ByteBuffer) throws(RedisClientError) {
        let status = buffer.withUnsafeReadableBytes { bytes -> Int32 in
            guard let base = bytes.baseAddress, bytes.count > 0 else { return REDIS_OK }
            return redisReaderFeed(reader, base.assumingMemoryBound(to: CChar.self), bytes.count)
        }
        if status != REDIS_OK { throw readerError() }
    }

    /// The next complete reply, or `nil` when more bytes are needed. After a throw the stream is unusable.
    func next() throws(RedisClientError) -> RedisValue? {
        var object: UnsafeMutableRawPointer?
        guard redisReaderGetReply(reader, &object) == REDIS_OK else { throw readerError() }
        guard let object else { return nil }
        defer { freeReplyObject(object) }
        return value(of: object.assumingMemoryBound(to: redisReply.self))
    }

    private func value(of reply: UnsafeMutablePointer<redisReply>) -> RedisValue {
        let r = reply.pointee
        switch r.type {
        case REDIS_REPLY_STATUS: return .simpleString(text(r))
        case REDIS_REPLY_ERROR: return .error(text(r))
        case REDIS_REPLY_INTEGER: return .integer(Int64(r.integer))
        case REDIS_REPLY_STRING:
            var buffer = allocator.buffer(capacity: r.len)
            if let str = r.str, r.len > 0 { buffer.writeBytes(UnsafeRawBufferPointer(start: str, count: r.len)) }
            return .bulk(buffer)
        case REDIS_REPLY_ARRAY:
            var elements: [RedisValue] = []
            elements.reserveCapacity(r.elements)
            if let children = r.element {
                for index in 0..<r.elements {
                    // hiredis never leaves a child empty in a completed reply; a gap would be a hiredis bug, kept visible as null.
                    elements.append(children[index].map { value(of: $0) } ?? .bulk(nil))
                }
            }
            return .array(elements)
        default:
            return r.integer == nullArrayMark ? .array(nil) : .bulk(nil)
        }
    }

    private func text(_ reply: redisReply) -> String {
        guard let str = reply.str, reply.len > 0 else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: str, count: reply.len), as: UTF8.self)
    }

    private func readerError() -> RedisClientError {
        let detail = withUnsafeBytes(of: reader.pointee.errstr) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        return RedisClientError(.protocolError, "malformed reply from the server: \(detail.isEmpty ? "unknown reader error" : detail)")
    }
}
