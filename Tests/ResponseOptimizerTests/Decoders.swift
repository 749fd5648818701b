// Test-side decoders for the content codings, so compressed bodies are checked by decoding them back.
import CBrotli
import CDeflate
import NIOCore
import ResponseOptimizer

enum Decode {
    /// gzip (windowBits 15+16) or the zlib format (15), as HTTP's deflate means it.
    static func zlib(_ data: ByteBuffer, gzip: Bool) -> [UInt8]? {
        var stream = z_stream()
        guard inflateInit2_(&stream, gzip ? 15 + 16 : 15, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return nil }
        defer { inflateEnd(&stream) }
        var input = Array(data.readableBytesView)
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        var rc: Int32 = Z_OK
        input.withUnsafeMutableBufferPointer { inBuf in
            stream.next_in = inBuf.baseAddress
            stream.avail_in = uInt(inBuf.count)
            repeat {
                let produced = chunk.withUnsafeMutableBufferPointer { c -> Int in
                    stream.next_out = c.baseAddress
                    stream.avail_out = uInt(c.count)
                    rc = inflate(&stream, Z_NO_FLUSH)
                    return c.count - Int(stream.avail_out)
                }
                out.append(contentsOf: chunk[0..<produced])
            } while rc == Z_OK && (stream.avail_in > 0 || stream.avail_out == 0)
        }
        return rc == Z_STREAM_END ? out : nil
    }

    static func brotli(_ data: ByteBuffer) -> [UInt8]? {
        guard let state = BrotliDecoderCreateInstance(nil, nil, nil) else { return nil }
        defer { BrotliDecoderDestroyInstance(state) }
        let input = Array(data.readableBytesView)
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        var result = BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT
        input.withUnsafeBufferPointer { inBuf in
            var availIn = inBuf.count
            var nextIn = inBuf.baseAddress
            while result == BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT {
                let produced = chunk.withUnsafeMutableBufferPointer { c -> Int in
                    var availOut = c.count
                    var nextOut = c.baseAddress
                    result = BrotliDecoderDecompressStream(state, &availIn, &nextIn, &availOut, &nextOut, nil)
                    return c.count - availOut
                }
                out.append(contentsOf: chunk[0..<produced])
            }
        }
        return result == BROTLI_DECODER_RESULT_SUCCESS ? out : nil
    }

    static func body(_ data: ByteBuffer, coding: String?) -> [UInt8]? {
        switch coding {
        case nil, "identity": Array(data.readableBytesView)
        case "gzip": zlib(data, gzip: true)
        case "deflate": zlib(data, gzip: false)
        case "br": brotli(data)
        default: nil
        }
    }
}
