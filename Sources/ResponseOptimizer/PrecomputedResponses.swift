// Responses that are expensive to make, computed in the background and refreshed before they expire (refresh-ahead).
import HTTPTypes
import Hummingbird
import NIOCore
import ServiceLifecycle

/// Register a response once; readers get the last computed one and never wait, except for the very first
/// computation. Run it as a Service (`Application(services: [precomputed])` or a ServiceGroup): it recomputes
/// each response `refreshAhead` before its `ttl` runs out, so a fresh value is always there when the old one expires.
public actor PrecomputedResponses: Service {
    public struct Value: Sendable {
        public var body: ByteBuffer
        public var contentType: String
        public var computedAt: ContinuousClock.Instant
    }

    private struct Entry {
        let ttl: Duration
        let refreshAhead: Duration
        let contentType: String
        let compute: @Sendable () async throws -> ByteBuffer
        var value: Value?
        var refreshing: Task<Value, Error>?
        var failures = 0
    }

    private var entries: [String: Entry] = [:]
    private let clock = ContinuousClock()
    public private(set) var computations = 0

    public init() {}

    /// `refreshAhead` must be shorter than `ttl`; the computation runs first when the service starts (or on the
    /// first read, whichever comes first).
    public func register(_ key: String, ttl: Duration, refreshAhead: Duration, contentType: String = "application/json; charset=utf-8",
                         compute: @escaping @Sendable () async throws -> ByteBuffer) {
        precondition(refreshAhead < ttl, "refreshAhead must be shorter than ttl")
        entries[key] = Entry(ttl: ttl, refreshAhead: refreshAhead, contentType: contentType, compute: compute)
    }

    /// The current value: cached while it is fresh, else the refresh under way (only the first read ever waits long).
    public func value(_ key: String) async throws -> Value {
        guard let entry = entries[key] else { throw HTTPError(.notFound) }
        if let v = entry.value, clock.now < v.computedAt + entry.ttl { return v }
        return try await refresh(key).value
    }

    /// A response with the value's body, its age in `Age`, and an ETag from its content.
    public func response(_ key: String) async throws -> Response {
        let v = try await value(key)
        var headers = HTTPFields()
        headers[.contentType] = v.contentType
        headers[.eTag] = EntityTag(body: v.body).description
        headers[.age] = String((clock.now - v.computedAt).components.seconds)
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: v.body))
    }

    private func refresh(_ key: String) -> Task<Value, Error> {
        if let running = entries[key]?.refreshing { return running }
        let compute = entries[key]!.compute
        let contentType = entries[key]!.contentType
        let clock = self.clock
        let task = Task { () throws -> Value in
            let body = try await compute()
            return Value(body: body, contentType: contentType, computedAt: clock.now)
        }
        entries[key]!.refreshing = task
        Task { await self.finished(key, task) }
        return task
    }

    private func finished(_ key: String, _ task: Task<Value, Error>) async {
        let result = await task.result
        guard entries[key]?.refreshing == task else { return }
        entries[key]!.refreshing = nil
        switch result {
        case .success(let v):
            entries[key]!.value = v
            entries[key]!.failures = 0
            computations += 1
        case .failure:
            // The old value stays served while fresh; the next attempt waits a little longer each time.
            entries[key]!.failures += 1
        }
    }

    /// When the next refresh is due, over all entries.
    private func nextDue() -> ContinuousClock.Instant? {
        entries.values.map { e -> ContinuousClock.Instant in
            guard let v = e.value else { return clock.now }
            let due = v.computedAt + e.ttl - e.refreshAhead
            return e.failures == 0 ? due : max(due, clock.now) + .seconds(min(1 << min(e.failures, 6), 60))
        }.min()
    }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let now = clock.now
            for (key, e) in entries where e.refreshing == nil {
                let due = e.value.map { $0.computedAt + e.ttl - e.refreshAhead } ?? now
                if due <= now { _ = refresh(key) }
            }
            // At most a second asleep: entries registered meanwhile, and a graceful shutdown, are noticed soon.
            let wake = min(nextDue().map { max($0, clock.now + .milliseconds(10)) } ?? clock.now + .seconds(1), clock.now + .seconds(1))
            try? await Task.sleep(until: wake, clock: clock)
        }
    }
}
