// The Prometheus registry behind GET /metrics: latency histograms fed in batches by each loop, everything else published at scrape.
import CoreMetrics
import NIOConcurrencyHelpers
import Prometheus

/// The three timings of one database. Each loop's PoolCounters holds the same instance and feeds it in batches
/// (`PendingTimings`).
struct DatabaseTimers: Sendable {
    let query: CoreMetrics.Timer
    let transaction: CoreMetrics.Timer
    let wait: CoreMetrics.Timer
}

/// One per process, made when the status port is on. The traffic counters are not touched per query: each loop keeps
/// plain integers (as SHOW STATS reads them) and a scrape adds what they grew by since the previous scrape, so the
/// data path pays only for appending its times to a per-loop batch.
final class ProxyMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory
    private let timers = NIOLockedValueBox<[String: DatabaseTimers]>([:])
    private let published = NIOLockedValueBox(PublishedState())

    /// Query times run from under a millisecond (pooled point reads) to minutes (reports).
    static let latencyBuckets: [Duration] = [
        .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
        .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
        .seconds(2.5), .seconds(5), .seconds(10), .seconds(30),
    ]
    /// Waits for a server are usually zero; the buckets show how often and how long clients queued.
    static let waitBuckets: [Duration] = [
        .microseconds(100), .microseconds(500), .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(50),
        .milliseconds(100), .milliseconds(500), .seconds(1), .seconds(5), .seconds(10), .seconds(30),
    ]

    init(version: String) {
        factory = PrometheusMetricsFactory(registry: registry)
        registry.makeGauge(descriptor: .named("pgswift_build_info", "pgswift's version (always 1)."), labels: [("version", version)]).set(to: 1)
        registry.makeGauge(descriptor: .named("pgswift_start_time_seconds", "When this pgswift process started, in seconds since the Unix epoch."))
            .set(to: Double(UnixClock.nowSeconds))
    }

    /// The histograms of one database, made on first use (when a pool of it is first seen on a loop, not per query).
    func timers(database: String) -> DatabaseTimers {
        timers.withLockedValue { all in
            if let t = all[database] { return t }
            let labels = [("database", database)]
            func timer(_ name: String, _ buckets: [Duration], _ help: String) -> CoreMetrics.Timer {
                let histogram = registry.makeDurationHistogram(descriptor: .named(name, help), labels: labels, buckets: buckets)
                return CoreMetrics.Timer(label: name, dimensions: labels, handler: histogram, factory: factory)
            }
            let t = DatabaseTimers(
                query: timer("pgswift_query_duration_seconds", Self.latencyBuckets,
                             "Time from a query's first byte to the server's ReadyForQuery, per database."),
                transaction: timer("pgswift_transaction_duration_seconds", Self.latencyBuckets,
                                   "Time from a transaction's first query to the ReadyForQuery that ends it, per database."),
                wait: timer("pgswift_client_wait_duration_seconds", Self.waitBuckets,
                            "Time a client waited for a server connection before each assignment, per database."))
            all[database] = t
            return t
        }
    }

    /// Brings the registry up to `snapshot` and renders it. Scrapes may overlap: each counter only ever moves forward.
    func exposition(_ snapshot: MetricsSnapshot) -> [UInt8] {
        published.withLockedValue { state in
            state.publish(snapshot, into: registry)
        }
        var out: [UInt8] = []
        out.reserveCapacity(16 * 1024)
        registry.emit(into: &out)
        return out
    }
}

extension MetricNameDescriptor {
    /// A whole name (pgswift_..._unit) with its HELP text: promtool wants help on every family.
    static func named(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }
}

/// A clock for the start time gauge that does not need Foundation.
private enum UnixClock {
    static var nowSeconds: Int {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return ts.tv_sec
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
