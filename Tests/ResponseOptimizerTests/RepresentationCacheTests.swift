// Compressed copies reused by strong ETag, never across different bodies; no ETag on no-store responses.
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
@testable import ResponseOptimizer
import Synchronization
import Testing

@Suite struct RepresentationCacheTests {
    @Test func boundedByEntriesAndBytesOldestFirst() {
        let cache = CompressedRepresentations(maxEntries: 2, maxBytes: 4000)
        let tags = (0..<3).map { EntityTag(opaque: "t\($0)", weak: false) }
        for t in tags { cache.keep(ByteBuffer(repeating: 1, count: 100), tag: t, coding: .gzip) }
        #expect(cache.body(tag: tags[0], coding: .gzip) == nil)
        #expect(cache.body(tag: tags[1], coding: .gzip) != nil && cache.body(tag: tags[2], coding: .gzip) != nil)
        #expect(cache.body(tag: tags[2], coding: .br) == nil)
        // A body over a quarter of the byte budget is not kept; nor is anything under a weak tag.
        cache.keep(ByteBuffer(repeating: 1, count: 1001), tag: EntityTag(opaque: "big", weak: false), coding: .gzip)
        #expect(cache.body(tag: EntityTag(opaque: "big", weak: false), coding: .gzip) == nil)
        cache.keep(ByteBuffer(repeating: 1, count: 10), tag: EntityTag(opaque: "w", weak: true), coding: .gzip)
        #expect(cache.body(tag: EntityTag(opaque: "w", weak: true), coding: .gzip) == nil)
        // Bytes: three of 900 exceed 2,000 in a cache of two entries and 2,000 bytes.
        let small = CompressedRepresentations(maxEntries: 10, maxBytes: 2000)
        for i in 0..<3 { small.keep(ByteBuffer(repeating: 2, count: 450), tag: EntityTag(opaque: "b\(i)", weak: false), coding: .br) }
        for i in 3..<6 { small.keep(ByteBuffer(repeating: 2, count: 450), tag: EntityTag(opaque: "b\(i)", weak: false), coding: .br) }
        #expect(small.body(tag: EntityTag(opaque: "b0", weak: false), coding: .br) == nil)
        #expect(small.body(tag: EntityTag(opaque: "b5", weak: false), coding: .br) != nil)
    }

    @Test func aChangedBodyIsNeverServedFromAnOlderCopy() async throws {
        let version = Mutex(0)
        let router = Router()
        router.add(middleware: ResponseOptimizerMiddleware())
        router.get("/page") { _, _ in
            let v = version.withLock { $0 }
            return jsonResponse(bigJSON.replacingOccurrences(of: "catalogue", with: "catalogue v\(v)"))
        }
        router.get("/probe") { _, _ in
            Response(status: .ok, headers: headers([(.contentType, "application/json"), (.cacheControl, "no-store")]),
                     body: ResponseBody(byteBuffer: ByteBuffer(string: bigJSON)))
        }
        try await Application(router: router).test(.router) { client in
            var seen: [String: ByteBuffer] = [:]
            for v in [0, 0, 1, 1, 0] {
                version.withLock { $0 = v }
                let expected = Array(bigJSON.replacingOccurrences(of: "catalogue", with: "catalogue v\(v)").utf8)
                try await client.execute(uri: "/page", method: .get, headers: headers([(.acceptEncoding, "gzip")])) { r in
                    #expect(r.headers[.contentEncoding] == "gzip")
                    #expect(Decode.body(r.body, coding: "gzip") == expected, "version \(v)")
                    let tag = try #require(r.headers[.eTag])
                    seen[tag] = r.body
                }
            }
            #expect(seen.count == 2)
            try await client.execute(uri: "/probe", method: .get, headers: headers([(.acceptEncoding, "gzip")])) { r in
                #expect(r.headers[.eTag] == nil, "no-store responses are not tagged")
                #expect(r.headers[.contentEncoding] == "gzip")
            }
        }
    }

    @Test func anApplicationVersionKeysCopiesOnlyWithinItsURL() async throws {
        // One version for every representation of /doc: fields= must still get its own bytes.
        let app = makeApp(version: { request, _ in request.uri.path == "/doc" ? "7" : nil })
        try await app.test(.router) { client in
            for _ in 0..<2 {
                for query in ["", "?fields=items(id,name)", "?fields=items(owner(email))"] {
                    let plain = try await client.execute(uri: "/doc" + query, method: .get) { r in Array(buffer: r.body) }
                    try await client.execute(uri: "/doc" + query, method: .get, headers: headers([(.acceptEncoding, "br")])) { r in
                        #expect(r.headers[.contentEncoding] == "br", "\(query)")
                        #expect(Decode.body(r.body, coding: "br") == plain, "\(query)")
                    }
                }
            }
        }
    }

    /// A middleware kept by the test, so its cache's hit count can be read.
    static func router(_ middleware: ResponseOptimizerMiddleware<BasicRequestContext>, status: StatusBox,
                       extra: [(HTTPField.Name, String)] = []) -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: middleware)
        router.get("/doc") { _, _ in
            var r = jsonResponse(bigJSON, status: status.value.withLock { $0 })
            for (n, v) in extra { r.headers[n] = v }
            return r
        }
        return router
    }

    @Test func copiesAreReallyReused() async throws {
        let middleware = ResponseOptimizerMiddleware<BasicRequestContext>()
        try await Application(router: Self.router(middleware, status: StatusBox(.ok))).test(.router) { client in
            for _ in 0..<3 {
                try await client.execute(uri: "/doc", method: .get, headers: headers([(.acceptEncoding, "gzip")])) { r in
                    #expect(Decode.body(r.body, coding: "gzip") == Array(bigJSON.utf8))
                }
            }
        }
        #expect(middleware.representations.hits == 2)
    }

    @Test func errorsAndOtherVariantsAreNotKept() async throws {
        // An application version tags every status; a 500's body must not come back as the 200's.
        let status = StatusBox(.internalServerError)
        let versioned = ResponseOptimizerMiddleware<BasicRequestContext>(version: { _, _ in "7" })
        try await Application(router: Self.router(versioned, status: status)).test(.router) { client in
            try await client.execute(uri: "/doc", method: .get, headers: headers([(.acceptEncoding, "br")])) { r in
                #expect(r.status == .internalServerError)
            }
            status.value.withLock { $0 = .ok }
            try await client.execute(uri: "/doc", method: .get, headers: headers([(.acceptEncoding, "br")])) { r in
                #expect(r.status == .ok && Decode.body(r.body, coding: "br") == Array(bigJSON.utf8))
            }
        }
        #expect(versioned.representations.hits == 0)
        // Varying on more than Accept-Encoding: compressed each time, never kept.
        let varying = ResponseOptimizerMiddleware<BasicRequestContext>()
        try await Application(router: Self.router(varying, status: StatusBox(.ok), extra: [(.vary, "Accept-Language")])).test(.router) { client in
            for _ in 0..<2 {
                try await client.execute(uri: "/doc", method: .get, headers: headers([(.acceptEncoding, "gzip")])) { r in
                    #expect(r.headers[.contentEncoding] == "gzip")
                }
            }
        }
        #expect(varying.representations.hits == 0)
    }
}

/// The status the test route answers with, changed by the test between requests.
final class StatusBox: Sendable {
    let value: Mutex<HTTPResponse.Status>
    init(_ status: HTTPResponse.Status) { value = Mutex(status) }
}
