// How many event loops `threads` asks for: the number given, or by default what was measured best for the cores there are.

public enum EventLoopCount {
    /// `threads = 0` (the default): one loop per core, except on one or two cores, where one loop. On two cores shared
    /// with PostgreSQL and the clients, a second loop gave the same throughput for 15% more proxy CPU per transaction
    /// and twice the context switches, and lost a fifth of the throughput at 200 clients (docs/BENCHMARKS.md).
    public static func resolve(configured: Int, cores: Int) -> Int {
        if configured > 0 { return configured }
        return cores <= 2 ? 1 : cores
    }
}
