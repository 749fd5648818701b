// Streaming encoders for the gzip, deflate (zlib format, as HTTP means it) and br content codings.
import CBrotli
import CDeflate
import NIOCore

/// Compresses a body piece by piece. Each `encode` returns what can be sent now; with `finish` the stream ends.
/// Not thread-safe: one encoder per response.
public protocol BodyEncoder: AnyObject {
    /// `flush`: everything given so far can be decoded from what has been returned (for bodies streamed in chunks).
    func encode(_ input: ByteBuffer, flush: Bool, finish: Bool) throws -> ByteBuffer
}

/// zlib failed or refused its parameters.
public struct CompressionError: Error, CustomStringConvertible {
    public let description: String
}

public enum BodyEncoders {
    /// An encoder for `coding`; nil for identity.
    public static func make(_ coding: ContentCoding, level: Int = 6, brotliQuality: Int = 5) throws -> BodyEncoder? {
        switch coding {
        case .gzip: try ZlibBodyEncoder(gzip: true, level: level)
        case .deflate: try ZlibBodyEncoder(gzip: false, level: level)
        case .br: try BrotliBodyEncoder(quality: brotliQuality)
        case .identity: nil
        }
    }

    /// One-shot compression of a whole body.
    public static func compress(_ body: ByteBuffer, as coding: ContentCoding, level: Int = 6, brotliQuality: Int = 5) throws -> ByteBuffer {
        guard let encoder = try make(coding, level: level, brotliQuality: brotliQuality) else { return body }
        return try encoder.encode(body, flush: false, finish: true)
    }
}

final class ZlibBodyEncoder: BodyEncoder {
    private let stream: UnsafeMutablePointer<z_stream>
    private var ended = false

    init(gzip: Bool, level: Int) throws {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        // windowBits 15 is the zlib format (HTTP's "deflate"); +16 asks zlib for a gzip header and trailer.
        let rc = deflateInit2_(stream, Int32(level), Z_DEFLATED, gzip ? 15 + 16 : 15, 8, Z_DEFAULT_STRATEGY,
                               ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard rc == Z_OK else {
            stream.deallocate()
            throw CompressionError(description: "deflateInit2 failed (\(rc))")
        }
    }

    deinit {
        deflateEnd(stream)
        stream.deallocate()
    }

    func encode(_ input: ByteBuffer, flush: Bool, finish: Bool) throws -> ByteBuffer {
        guard !ended else { throw CompressionError(description: "encoder already finished") }
        var out = ByteBufferAllocator().buffer(capacity: Int(deflateBound(stream, UInt(input.readableBytes))) + 64)
        let mode = finish ? Z_FINISH : (flush ? Z_SYNC_FLUSH : Z_NO_FLUSH)
        try input.withUnsafeReadableBytes { raw in
            stream.pointee.next_in = UnsafeMutablePointer(mutating: raw.bindMemory(to: Bytef.self).baseAddress)
            stream.pointee.avail_in = uInt(raw.count)
            while true {
                if out.writableBytes < 64 { out.reserveCapacity(out.capacity * 2) }
                let (rc, produced) = out.withUnsafeMutableWritableBytes { w -> (Int32, Int) in
                    stream.pointee.next_out = w.bindMemory(to: Bytef.self).baseAddress
                    stream.pointee.avail_out = uInt(w.count)
                    let rc = deflate(stream, mode)
                    return (rc, w.count - Int(stream.pointee.avail_out))
                }
                out.moveWriterIndex(forwardBy: produced)
                if rc == Z_STREAM_END { break }
                guard rc == Z_OK || rc == Z_BUF_ERROR else { throw CompressionError(description: "deflate failed (\(rc))") }
                // Done when zlib took all input and had room left over (it has nothing more to say for this mode).
                if stream.pointee.avail_in == 0 && stream.pointee.avail_out > 0 && !finish { break }
            }
            stream.pointee.next_in = nil
        }
        if finish { ended = true }
        return out
    }
}

final class BrotliBodyEncoder: BodyEncoder {
    private let state: OpaquePointer
    private var ended = false

    init(quality: Int) throws {
        guard let s = BrotliEncoderCreateInstance(nil, nil, nil) else { throw CompressionError(description: "brotli: no encoder") }
        state = s
        BrotliEncoderSetParameter(state, BROTLI_PARAM_QUALITY, UInt32(max(0, min(quality, 11))))
    }

    deinit {
        BrotliEncoderDestroyInstance(state)
    }

    func encode(_ input: ByteBuffer, flush: Bool, finish: Bool) throws -> ByteBuffer {
        guard !ended else { throw CompressionError(description: "encoder already finished") }
        let op = finish ? BROTLI_OPERATION_FINISH : (flush ? BROTLI_OPERATION_FLUSH : BROTLI_OPERATION_PROCESS)
        var out = ByteBufferAllocator().buffer(capacity: input.readableBytes / 2 + 64)
        try input.withUnsafeReadableBytes { raw in
            var availIn = raw.count
            var nextIn: UnsafePointer<UInt8>? = raw.bindMemory(to: UInt8.self).baseAddress
            while true {
                if out.writableBytes < 64 { out.reserveCapacity(max(out.capacity * 2, 256)) }
                let (ok, produced) = out.withUnsafeMutableWritableBytes { w -> (Bool, Int) in
                    var availOut = w.count
                    var nextOut: UnsafeMutablePointer<UInt8>? = w.bindMemory(to: UInt8.self).baseAddress
                    let ok = BrotliEncoderCompressStream(state, op, &availIn, &nextIn, &availOut, &nextOut, nil) == BROTLI_TRUE
                    return (ok, w.count - availOut)
                }
                out.moveWriterIndex(forwardBy: produced)
                guard ok else { throw CompressionError(description: "brotli compression failed") }
                if availIn == 0 && BrotliEncoderHasMoreOutput(state) == BROTLI_FALSE {
                    if !finish || BrotliEncoderIsFinished(state) == BROTLI_TRUE { break }
                }
            }
        }
        if finish { ended = true }
        return out
    }
}
