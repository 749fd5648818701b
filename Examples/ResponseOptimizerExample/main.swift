// A JSON service showing every part of ResponseOptimizer: compression, ETag/304/412, fields=, streaming, precomputation.
//
//   swift run ResponseOptimizerExample [port]      (default 8080; RESPONSE_* environment variables apply)
//   curl -s --compressed -i 'localhost:8080/catalogue?fields=id,items(id,owner(name))'
import Foundation
import Hummingbird
import NIOCore
import ResponseOptimizer
import Synchronization

/// The catalogue: a document whose version changes on every PUT (used for ETags without computing the body).
final class Catalogue: Sendable {
    private let state = Mutex((version: 1, name: "catalogue"))

    var version: Int { state.withLock { $0.version } }

    func rename(_ name: String) -> Int {
        state.withLock {
            $0.name = name
            $0.version += 1
            return $0.version
        }
    }

    func json() -> String {
        let (version, name) = state.withLock { ($0.version, $0.name) }
        let items = (0..<200).map { i in
            #"{"id":\#(i),"name":"item \#(i)","price":\#(Double(i) * 1.25),"tags":["red","blue"],"owner":{"name":"owner \#(i % 7)","email":"owner\#(i % 7)@example.com"}}"#
        }
        return #"{"id":1,"name":"\#(name)","version":\#(version),"items":["# + items.joined(separator: ",") + "]}"
    }
}

func json(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
    var headers = HTTPFields()
    headers[.contentType] = "application/json; charset=utf-8"
    return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
}

let configuration: ResponseOptimizerConfiguration
do {
    configuration = try ResponseOptimizerConfiguration(environment: ProcessInfo.processInfo.environment)
} catch {
    FileHandle.standardError.write(Data("ResponseOptimizerExample: \(error)\n".utf8))
    exit(2)
}
let port = CommandLine.arguments.dropFirst().first.flatMap(Int.init) ?? 8080
let catalogue = Catalogue()
let precomputed = PrecomputedResponses()
await precomputed.register("report", ttl: .seconds(10), refreshAhead: .seconds(3)) {
    // Stands for an expensive aggregate: readers get the last one while the next is computed.
    try await Task.sleep(for: .milliseconds(300))
    return ByteBuffer(string: #"{"generated":"\#(Date())","total":\#(Int.random(in: 1000...9999))}"#)
}

let router = Router()
// RESPONSE_OPTIMIZER=off serves the same routes without the middleware (the baseline of scripts/bench-http).
if ProcessInfo.processInfo.environment["RESPONSE_OPTIMIZER"] != "off" {
    // The version callback lets the middleware answer 304 and 412 for /catalogue before the handler builds anything.
    router.add(middleware: ResponseOptimizerMiddleware(configuration: configuration, version: { request, _ in
        request.uri.path == "/catalogue" ? String(catalogue.version) : nil
    }))
}
router.get("/catalogue") { _, _ in json(catalogue.json()) }
router.put("/catalogue") { request, _ in
    let name = request.uri.queryParameters["name"].map(String.init) ?? "catalogue"
    return json(#"{"version":\#(catalogue.rename(name))}"#)
}
// A body-derived ETag: the middleware hashes what the handler returned.
router.get("/items/:id") { _, context in
    let id = context.parameters.get("id", as: Int.self) ?? 0
    return json(#"{"id":\#(id),"name":"item \#(id)","description":"\#(String(repeating: "lorem ipsum ", count: 80))"}"#)
}
// Streamed: NDJSON written row by row, never held whole; compressed chunk by chunk.
router.get("/export") { request, _ in
    let rows = request.uri.queryParameters["rows"].flatMap { Int($0) } ?? 100_000
    var headers = HTTPFields()
    headers[.contentType] = "application/x-ndjson"
    return Response(status: .ok, headers: headers, body: ResponseBody { writer in
        var batch = ByteBuffer()
        for i in 0..<rows {
            batch.writeString(#"{"row":\#(i),"value":"\#(i * 31 % 977)"}"# + "\n")
            if batch.readableBytes >= 16 * 1024 {
                try await writer.write(batch)
                batch.clear()
            }
        }
        if batch.readableBytes > 0 { try await writer.write(batch) }
        try await writer.finish(nil)
    })
}
router.get("/report") { _, _ in try await precomputed.response("report") }
// Under the compression threshold: what the middleware costs when it has nothing to compress.
router.get("/small") { _, _ in json(#"{"id":42,"name":"small","tags":["a","b","c"],"owner":{"name":"o","email":"o@example.com"}}"#) }
router.get("/health") { _, _ in "ok" }

let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)), services: [precomputed])
try await app.runService()
