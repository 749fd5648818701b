// The status port: health and readiness over HTTP for load balancers and Kubernetes probes (Hummingbird, through ResponseOptimizer).
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ResponseOptimizer

/// Whether one configured database has a reachable primary, as the proxy last found out.
public struct DatabaseReadiness: Sendable, Equatable {
    public var name: String
    /// host:port or the socket path the proxy connects to.
    public var endpoint: String
    public var reachable: Bool
    /// Why not, when not reachable.
    public var detail: String

    public init(name: String, endpoint: String, reachable: Bool, detail: String = "") {
        self.name = name
        self.endpoint = endpoint
        self.reachable = reachable
        self.detail = detail
    }
}

/// What the status port reads from the running proxy (closures, so this module knows nothing of the proxy's types).
public struct StatusSources: Sendable {
    public var readiness: @Sendable () async -> [DatabaseReadiness]
    public var performance: @Sendable () async -> PerformanceReport
    /// The proxy is shutting down (draining its clients): not ready for new ones, whatever the databases say.
    public var draining: @Sendable () -> Bool
    /// The Prometheus text exposition (version 0.0.4).
    public var metrics: @Sendable () async -> [UInt8]
    /// The advice; with `apply` true, the safe recommendations are applied first and reported.
    public var tune: @Sendable (_ apply: Bool) async -> TuningReport
    /// status_admin_token as the config says now (empty: nothing may be changed over HTTP).
    public var adminToken: @Sendable () -> String

    public init(readiness: @escaping @Sendable () async -> [DatabaseReadiness],
                performance: @escaping @Sendable () async -> PerformanceReport,
                draining: @escaping @Sendable () -> Bool = { false },
                metrics: @escaping @Sendable () async -> [UInt8] = { [] },
                tune: @escaping @Sendable (_ apply: Bool) async -> TuningReport = { _ in TuningReport(recommendations: []) },
                adminToken: @escaping @Sendable () -> String = { "" }) {
        self.readiness = readiness
        self.performance = performance
        self.draining = draining
        self.metrics = metrics
        self.tune = tune
        self.adminToken = adminToken
    }
}

public enum StatusServer {
    /// The HTTP application for `status_addr`:`status_port`, on the proxy's own event loops.
    public static func application(host: String, port: Int, group: any EventLoopGroup, sources: StatusSources,
                                   responses: ResponseOptimizerConfiguration = .init(), logger: Logger) -> some ApplicationProtocol {
        Application(router: router(sources: sources, responses: responses), configuration: .init(address: .hostname(host, port: port), serverName: "pgswift"),
                    eventLoopGroupProvider: .shared(group), logger: logger)
    }

    /// The routes, separate from the server so that tests can drive them with Hummingbird's test client.
    public static func router(sources: StatusSources, responses: ResponseOptimizerConfiguration = .init()) -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: ResponseOptimizerMiddleware(configuration: responses))
        // 200 for as long as the process answers at all (a liveness probe).
        readable(router, "/health") { _, _ in json(#"{"status":"ok"}"#) }
        readable(router, "/ready") { _, _ in
            if sources.draining() {
                return json(#"{"status":"not ready","reason":"shutting down: new clients are not accepted"}"#, status: .serviceUnavailable)
            }
            let databases = await sources.readiness()
            let down = databases.filter { !$0.reachable }
            let items = databases.map {
                #"{"name":\#(JSONText.quote($0.name)),"endpoint":\#(JSONText.quote($0.endpoint)),"reachable":\#($0.reachable)"#
                    + ($0.detail.isEmpty ? "" : #","detail":\#(JSONText.quote($0.detail))"#) + "}"
            }.joined(separator: ",")
            if databases.isEmpty {
                return json(#"{"status":"not ready","reason":"no databases are configured","databases":[]}"#, status: .serviceUnavailable)
            }
            guard down.isEmpty else {
                let reason = down.map { "database \($0.name): primary \($0.endpoint) is not reachable (\($0.detail))" }.joined(separator: "; ")
                return json(#"{"status":"not ready","reason":\#(JSONText.quote(reason)),"databases":[\#(items)]}"#, status: .serviceUnavailable)
            }
            return json(#"{"status":"ready","databases":[\#(items)]}"#)
        }
        readable(router, "/api/v1/performance/metrics") { _, _ in json(await sources.performance().json) }
        router.post("/api/v1/performance/tune") { request, _ in
            let apply = request.uri.queryParameters.get("apply").map { ["true", "1", "yes"].contains($0.lowercased()) } ?? false
            if apply, let refusal = AdminToken.refusal(configured: sources.adminToken(), authorization: request.headers[.authorization]) {
                return json(#"{"error":\#(JSONText.quote(refusal))}"#, status: .forbidden)
            }
            return json(await sources.tune(apply).json(applyRequested: apply))
        }
        // The dashboard: static, so revalidated by ETag (304) rather than sent again on each visit.
        readable(router, "/") { _, _ in asset(DashboardPage.html, "text/html; charset=utf-8") }
        readable(router, "/assets/dashboard.js") { _, _ in asset(DashboardScript.javascript, "text/javascript; charset=utf-8") }
        readable(router, "/assets/dashboard.css") { _, _ in asset(DashboardPage.css, "text/css; charset=utf-8") }
        readable(router, "/metrics") { _, _ in
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            headers[.cacheControl] = "no-store"
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: await sources.metrics())))
        }
        return router
    }

    /// GET and HEAD on one path: load balancers and probes often ask with HEAD (the same status and headers, no body).
    static func readable(_ router: Router<BasicRequestContext>, _ path: RouterPath,
                         use handler: @escaping @Sendable (Request, BasicRequestContext) async throws -> Response) {
        router.get(path, use: handler)
        router.head(path) { request, context in
            var response = try await handler(request, context)
            response.body = ResponseBody()
            return response
        }
    }

    static func asset(_ text: String, _ type: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = type
        headers[.cacheControl] = "no-cache"
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    static func json(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        // Probes must see the state as it is now.
        headers[.cacheControl] = "no-store"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
}
