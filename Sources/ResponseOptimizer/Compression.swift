// Content-Encoding negotiated per request: whole bodies compressed at once, streamed ones chunk by chunk.
import HTTPTypes
import Hummingbird
import NIOCore

enum Compression {
    /// Media types whose bodies are already compressed: compressing again costs CPU and saves nothing.
    static let compressedTypes: [StaticString] = [
        "application/zip", "application/gzip", "application/x-gzip", "application/x-bzip2", "application/x-xz", "application/zstd",
        "application/x-7z-compressed", "application/x-rar-compressed", "application/pdf", "application/octet-stream",
        "application/wasm", "font/woff", "font/woff2",
    ]

    /// Asked for every response: compares bytes, ignoring case, without building lower-cased strings.
    static func isCompressible(_ contentType: String?) -> Bool {
        guard let contentType else { return false }
        return HeaderText.withMediaType(contentType) { ct in
            guard !ct.isEmpty else { return false }
            if compressedTypes.contains(where: { HeaderText.equals(ct, HeaderText.bytes($0)) }) { return false }
            if HeaderText.hasPrefix(ct, HeaderText.bytes("image/")) { return HeaderText.equals(ct, HeaderText.bytes("image/svg+xml")) }
            return !HeaderText.hasPrefix(ct, HeaderText.bytes("video/")) && !HeaderText.hasPrefix(ct, HeaderText.bytes("audio/"))
        }
    }

    /// Adds Accept-Encoding to Vary; says whether the response varies on anything else too.
    @discardableResult
    static func addVary(_ headers: inout HTTPFields) -> Bool {
        // The usual case, without splitting anything.
        guard headers[.vary] != nil else {
            headers.append(HTTPField(name: .vary, value: "Accept-Encoding"))
            return false
        }
        let vary = headers[values: .vary].flatMap { $0.split(separator: ",").map { $0.trimmingSpaces().lowercased() } }
        if !vary.contains("accept-encoding") && !vary.contains("*") { headers.append(HTTPField(name: .vary, value: "Accept-Encoding")) }
        return vary.contains { $0 != "accept-encoding" }
    }

    static func apply(to response: Response, request: Request, configuration: ResponseOptimizerConfiguration,
                      cache: CompressedRepresentations? = nil, scopedToURL: Bool = false) async throws -> Response {
        let status = response.status.code
        guard configuration.compressionEnabled, request.method != .head, status >= 200, status != 204, status != 206, status != 304,
              response.headers[.contentEncoding] == nil, isCompressible(response.headers[.contentType]),
              !(response.headers[.cacheControl].map { HeaderText.contains($0, "no-transform") } ?? false)
        else { return response }
        // Small bodies first: the usual case for API responses, decided without reading Accept-Encoding. They go out
        // the same to every client, so they carry no Vary either (24 more bytes on a 100-byte answer).
        if let length = response.body.contentLength, length < configuration.compressionThreshold { return response }
        var out = response
        let variesOtherwise = addVary(&out.headers)
        let coding = AcceptEncoding.negotiate(request.headers[values: .acceptEncoding].joinedOrNil, offered: configuration.codings)
        guard coding != .identity else { return out }
        out.headers[.contentEncoding] = coding.rawValue
        let tag = out.headers[.eTag].flatMap(EntityTag.init(parsing:))
        if let tag { out.headers[.eTag] = tag.coded(coding).description }
        // Only complete 200s are kept, and not when the body varies on more than Accept-Encoding (the tag would have
        // to, but a copy served to the wrong language is worse than a second compression).
        let cache = status == 200 && !variesOtherwise ? cache : nil
        let scope = cache == nil ? "" : (scopedToURL ? request.uri.description : "") + "\u{0}" + (out.headers[.contentType] ?? "")
        if let tag, let cached = cache?.body(tag: tag, coding: coding, scope: scope) {
            out.body = ResponseBody(byteBuffer: cached)
            return out
        }
        if let body = try await out.collectedBody(limit: configuration.streamingThreshold) {
            let compressed = try BodyEncoders.compress(body, as: coding, level: configuration.zlibLevel, brotliQuality: configuration.brotliQuality)
            if let tag { cache?.keep(compressed, tag: tag, coding: coding, scope: scope) }
            out.body = ResponseBody(byteBuffer: compressed)
            return out
        }
        // Streamed (or too large to hold): each piece is compressed and flushed as it comes, the length is unknown.
        let original = out.body
        let level = configuration.zlibLevel, quality = configuration.brotliQuality
        out.body = ResponseBody { writer in
            let encoder = try BodyEncoders.make(coding, level: level, brotliQuality: quality)!
            let box = EncoderBox(encoder)
            try await original.write(EncodingWriter(inner: writer, box: box))
        }
        return out
    }
}

/// Not Sendable by nature (one response's compressor), used by one writer at a time.
final class EncoderBox: @unchecked Sendable {
    let encoder: BodyEncoder
    init(_ encoder: BodyEncoder) { self.encoder = encoder }
}

/// Compresses what a body writes, chunk by chunk, into the real writer.
struct EncodingWriter: ResponseBodyWriter {
    var inner: any ResponseBodyWriter
    let box: EncoderBox

    mutating func write(_ buffer: ByteBuffer) async throws {
        let out = try box.encoder.encode(buffer, flush: true, finish: false)
        if out.readableBytes > 0 { try await inner.write(out) }
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {
        let tail = try box.encoder.encode(ByteBuffer(), flush: false, finish: true)
        var inner = self.inner
        if tail.readableBytes > 0 { try await inner.write(tail) }
        try await inner.finish(trailingHeaders)
    }
}
