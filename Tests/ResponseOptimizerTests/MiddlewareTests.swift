// The middleware through Hummingbird's router test client: compression, ETags and 304/412, fields=, streaming.
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import ResponseOptimizer
import Synchronization
import Testing

/// A JSON document big enough to be compressed (over the default 512-byte threshold).
let bigJSON: String = {
    let items = (0..<40).map { #"{"id":\#($0),"name":"item \#($0)","tags":["a","b"],"owner":{"name":"o\#($0)","email":"o\#($0)@example.com"}}"# }
    return #"{"id":1,"name":"catalogue","secret":"s3cr3t","items":["# + items.joined(separator: ",") + "]}"
}()

func jsonResponse(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
    var headers = HTTPFields()
    headers[.contentType] = "application/json"
    return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
}

func headers(_ pairs: [(HTTPField.Name, String)]) -> HTTPFields {
    var h = HTTPFields()
    for (n, v) in pairs { h.append(HTTPField(name: n, value: v)) }
    return h
}

/// Counts handler runs.
final class Calls: Sendable {
    private let n = Mutex(0)
    func bump() { n.withLock { $0 += 1 } }
    var count: Int { n.withLock { $0 } }
}

/// A router with the middleware and a few routes; `calls` counts handler runs.
func makeApp(_ configuration: ResponseOptimizerConfiguration = .init(), calls: Calls? = nil,
             version: (@Sendable (Request, BasicRequestContext) async throws -> String?)? = nil) -> some ApplicationProtocol {
    let router = Router()
    router.add(middleware: ResponseOptimizerMiddleware(configuration: configuration, version: version))
    router.get("/doc") { _, _ in
        calls?.bump()
        return jsonResponse(bigJSON)
    }
    router.put("/doc") { _, _ in
        calls?.bump()
        return jsonResponse(#"{"ok":true}"#)
    }
    router.get("/small") { _, _ in jsonResponse(#"{"id":1,"name":"small"}"#) }
    router.get("/png") { _, _ in
        Response(status: .ok, headers: headers([(.contentType, "image/png")]), body: ResponseBody(byteBuffer: ByteBuffer(repeating: 7, count: 4096)))
    }
    router.get("/encoded") { _, _ in
        Response(status: .ok, headers: headers([(.contentType, "text/plain"), (.contentEncoding, "gzip")]),
                 body: ResponseBody(byteBuffer: ByteBuffer(repeating: 1, count: 2048)))
    }
    router.get("/stream") { _, _ in
        // Unknown length, written in pieces: never held whole.
        let chunks = (0..<50).map { ByteBuffer(string: String(repeating: "chunk \($0) ", count: 40)) }
        return Response(status: .ok, headers: headers([(.contentType, "text/plain")]), body: ResponseBody(asyncSequence: chunks.async))
    }
    return Application(router: router)
}

extension Array where Element: Sendable {
    var async: AsyncStream<Element> {
        AsyncStream { c in
            for e in self { c.yield(e) }
            c.finish()
        }
    }
}

@Suite struct CompressionMiddlewareTests {
    @Test(arguments: ["gzip", "deflate", "br"])
    func compressesAndRoundTrips(_ coding: String) async throws {
        try await makeApp().test(.router) { client in
            try await client.execute(uri: "/doc", method: .get, headers: headers([(.acceptEncoding, coding)])) { r in
                #expect(r.status == .ok)
                #expect(r.headers[.contentEncoding] == coding)
                #expect(r.headers[.vary] == "Accept-Encoding")
                #expect(r.body.readableBytes < bigJSON.utf8.count / 2)
                #expect(r.headers[.contentLength] == String(r.body.readableBytes))
                #expect(Decode.body(r.body, coding: coding) == Array(bigJSON.utf8))
                #expect(r.headers[.eTag]?.hasSuffix("-\(coding)\"") == true)
            }
        }
    }

    @Test func leavesAloneWhatShouldNotBeCompressed() async throws {
        try await makeApp().test(.router) { client in
            let gzip = headers([(.acceptEncoding, "gzip, br")])
            try await client.execute(uri: "/small", method: .get, headers: gzip) { r in
                #expect(r.headers[.contentEncoding] == nil, "below the 512-byte threshold")
                #expect(r.headers[.vary] == nil, "the same bytes for every client: nothing varies")
            }
            try await client.execute(uri: "/png", method: .get, headers: gzip) { r in
                #expect(r.headers[.contentEncoding] == nil && r.headers[.vary] == nil, "already compressed media type")
            }
            try await client.execute(uri: "/encoded", method: .get, headers: gzip) { r in
                #expect(r.headers[.contentEncoding] == "gzip" && r.body.readableBytes == 2048, "already has a Content-Encoding")
            }
            try await client.execute(uri: "/doc", method: .get) { r in
                #expect(r.headers[.contentEncoding] == nil && r.body.readableBytes == bigJSON.utf8.count, "no Accept-Encoding")
            }
            try await client.execute(uri: "/doc", method: .get, headers: headers([(.acceptEncoding, "gzip;q=0, identity")])) { r in
                #expect(r.headers[.contentEncoding] == nil)
            }
        }
        try await makeApp(ResponseOptimizerConfiguration(compressionEnabled: false)).test(.router) { client in
            try await client.execute(uri: "/doc", method: .get, headers: headers([(.acceptEncoding, "gzip")])) { r in
                #expect(r.headers[.contentEncoding] == nil && r.headers[.vary] == nil, "compression switched off")
            }
        }
    }

    @Test(arguments: ["gzip", "br", "deflate"])
    func streamedBodiesAreCompressedChunkByChunk(_ coding: String) async throws {
        let expected = (0..<50).map { String(repeating: "chunk \($0) ", count: 40) }.joined()
        try await makeApp().test(.router) { client in
            try await client.execute(uri: "/stream", method: .get, headers: headers([(.acceptEncoding, coding)])) { r in
                #expect(r.headers[.contentEncoding] == coding)
                #expect(r.headers[.contentLength] == nil)
                #expect(r.headers[.eTag] == nil, "a streamed body gets no body-derived ETag")
                #expect(Decode.body(r.body, coding: coding) == Array(expected.utf8))
            }
        }
    }

    @Test func knownLengthBodiesOverTheThresholdGoOutChunked() async throws {
        let config = ResponseOptimizerConfiguration(compressionEnabled: false, streamingThreshold: 1000)
        try await makeApp(config).test(.router) { client in
            try await client.execute(uri: "/doc", method: .get) { r in
                #expect(r.headers[.contentLength] == nil && r.headers[.eTag] == nil)
                #expect(String(buffer: r.body) == bigJSON)
            }
            try await client.execute(uri: "/small", method: .get) { r in
                #expect(r.headers[.contentLength] == String(r.body.readableBytes), "under the threshold: kept whole")
            }
        }
    }

    @Test func bodiesOverTheStreamingThresholdAreNotHeld() async throws {
        let config = ResponseOptimizerConfiguration(streamingThreshold: 1000)
        try await makeApp(config).test(.router) { client in
            try await client.execute(uri: "/doc?fields=id", method: .get, headers: headers([(.acceptEncoding, "gzip")])) { r in
                #expect(r.headers[.eTag] == nil)
                #expect(r.headers[.contentLength] == nil, "compressed as a stream")
                #expect(Decode.body(r.body, coding: "gzip") == Array(bigJSON.utf8), "not filtered: too large to hold")
            }
        }
    }
}

@Suite struct ETagMiddlewareTests {
    @Test func notModifiedWhenTheClientHasIt() async throws {
        let calls = Calls()
        try await makeApp(calls: calls).test(.router) { client in
            let tag = try await client.execute(uri: "/doc", method: .get) { r in r.headers[.eTag] }
            let plain = try #require(tag)
            for inm in [plain, "\"other\", \(plain)", "W/\(plain)", "*"] {
                try await client.execute(uri: "/doc", method: .get, headers: headers([(.ifNoneMatch, inm)])) { r in
                    #expect(r.status == .notModified, "\(inm)")
                    #expect(r.body.readableBytes == 0)
                    #expect(r.headers[.eTag] == plain)
                }
            }
            // The tag a gzip response carried is accepted back, and the 304 names the coded tag.
            let gz = try await client.execute(uri: "/doc", method: .get, headers: headers([(.acceptEncoding, "gzip")])) { r in r.headers[.eTag] }
            try await client.execute(uri: "/doc", method: .get, headers: headers([(.acceptEncoding, "gzip"), (.ifNoneMatch, try #require(gz))])) { r in
                #expect(r.status == .notModified && r.headers[.eTag] == gz && r.headers[.vary] == "Accept-Encoding")
            }
            try await client.execute(uri: "/doc", method: .get, headers: headers([(.ifNoneMatch, "\"stale\"")])) { r in
                #expect(r.status == .ok && r.body.readableBytes == bigJSON.utf8.count)
            }
        }
    }

    @Test func versionSuppliedByTheApplicationSkipsTheHandler() async throws {
        let calls = Calls()
        let app = makeApp(calls: calls, version: { request, _ in request.uri.path == "/doc" ? "7" : nil })
        try await app.test(.router) { client in
            try await client.execute(uri: "/doc", method: .get) { r in #expect(r.headers[.eTag] == #""v-7""#) }
            #expect(calls.count == 1)
            try await client.execute(uri: "/doc", method: .get, headers: headers([(.ifNoneMatch, #""v-7""#)])) { r in
                #expect(r.status == .notModified)
            }
            try await client.execute(uri: "/doc", method: .put, headers: headers([(.ifMatch, #""v-6""#)])) { r in
                #expect(r.status == .preconditionFailed)
            }
            #expect(calls.count == 1, "neither the 304 nor the 412 ran the handler")
            try await client.execute(uri: "/doc", method: .put, headers: headers([(.ifMatch, #""v-7""#)])) { r in #expect(r.status == .ok) }
            #expect(calls.count == 2)
        }
    }

    @Test func switchedOff() async throws {
        try await makeApp(ResponseOptimizerConfiguration(etagEnabled: false)).test(.router) { client in
            try await client.execute(uri: "/doc", method: .get) { r in #expect(r.headers[.eTag] == nil) }
        }
    }
}

@Suite struct PartialResponseTests {
    @Test func filtersJSON() async throws {
        try await makeApp().test(.router) { client in
            try await client.execute(uri: "/doc?fields=id,items(id,owner(email))", method: .get) { r in
                let text = String(buffer: r.body)
                #expect(text.hasPrefix(#"{"id":1,"items":[{"id":0,"owner":{"email":"o0@example.com"}},"#), "\(text.prefix(120))")
                #expect(!text.contains("secret") && !text.contains("tags"))
                #expect(r.headers[.contentLength] == String(r.body.readableBytes))
            }
            try await client.execute(uri: "/small?fields=name,unknown", method: .get) { r in
                #expect(String(buffer: r.body) == #"{"name":"small"}"#)
            }
        }
    }

    @Test func malformedExpressionIs400PointingAtIt() async throws {
        try await makeApp().test(.router) { client in
            try await client.execute(uri: "/doc?fields=id,,name", method: .get) { r in
                #expect(r.status == .badRequest)
                let text = String(buffer: r.body)
                #expect(text.contains(#""position":4"#) && text.contains("character 4"), "\(text)")
            }
        }
    }
}

@Suite struct PrecomputedResponsesTests {
    @Test func refreshedAheadSoReadersNeverWait() async throws {
        let store = PrecomputedResponses()
        // How many computations started, and whether one is running now.
        let state = Mutex((count: 0, running: false))
        // The refresh starts half a second into a value's life and has a second and a half to finish: a busy machine
        // delays it, but not past the value's expiry (when a reader would rightly have to wait).
        await store.register("report", ttl: .milliseconds(2000), refreshAhead: .milliseconds(1500)) {
            let n = state.withLock { $0.count += 1; $0.running = true; return $0.count }
            try await Task.sleep(for: .milliseconds(50))
            state.withLock { $0.running = false }
            return ByteBuffer(string: #"{"n":\#(n)}"#)
        }
        let service = Task { try await store.run() }
        defer { service.cancel() }
        let first = try await store.value("report")
        #expect(String(buffer: first.body).hasPrefix(#"{"n":"#))
        // Over a few ttls, values move on, and a read made while a refresh runs gets the value before it: a reader
        // that waited for the computation would get the new one (no clock is read: the machine may be slow).
        var seen = Set<String>()
        for _ in 0..<24 {
            let (running, latest) = state.withLock { ($0.running, $0.count) }
            let v = try await store.value("report")
            if running { #expect(String(buffer: v.body) != #"{"n":\#(latest)}"#, "a reader waited for the computation in flight") }
            seen.insert(String(buffer: v.body))
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(seen.count >= 2, "the value was never refreshed: \(seen)")
        let response = try await store.response("report")
        #expect(response.headers[.eTag] != nil && response.headers[.age] != nil)
    }
}
