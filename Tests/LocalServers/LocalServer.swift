// Test support: a real server process (redis-server, memcached) on a free loopback port, killed when the test ends.
import Foundation
import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public struct TestFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

public final class LocalServer: Sendable {
    public let port: Int
    private let process: Process
    private let log: URL

    private init(port: Int, process: Process, log: URL) {
        self.port = port
        self.process = process
        self.log = log
    }

    /// Starts `program`, then runs `body` and kills the server whatever `body` does. A missing program is a failure,
    /// not a skip: CI installs the servers, and a test that passes without one hides a broken setup.
    public static func with<Result>(
        _ program: String, package: String, arguments: (Int) -> [String], _ body: (LocalServer) async throws -> Result
    ) async throws -> Result {
        let server = try await start(program, package: package, arguments: arguments)
        defer { server.stop() }
        return try await body(server)
    }

    public static func start(_ program: String, package: String, arguments: (Int) -> [String]) async throws -> LocalServer {
        let path = try executable(program, package: package)
        var lastLog = ""
        // The free port can be taken between probing and the server's bind: try a few.
        for _ in 0..<4 {
            let port = try await freePort()
            let log = FileManager.default.temporaryDirectory.appendingPathComponent("\(program)-\(port)-\(UUID().uuidString).log")
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
            let output = try FileHandle(forWritingTo: log)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: path)
            process.arguments = arguments(port)
            process.standardOutput = output
            process.standardError = output
            process.standardInput = FileHandle.nullDevice
            try process.run()
            try? output.close()
            let server = LocalServer(port: port, process: process, log: log)
            if await server.waitUntilAccepting() { return server }
            lastLog = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            server.stop()
        }
        throw TestFailure("\(program) did not start listening; its last output:\n\(lastLog)")
    }

    public static func executable(_ program: String, package: String) throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") where FileManager.default.isExecutableFile(atPath: "\(directory)/\(program)") {
            return "\(directory)/\(program)"
        }
        throw TestFailure("\(program) is not on PATH: these integration tests need a real server. Install Debian's \(package) "
            + "(scripts/lib/common.sh ensure_build_deps does).")
    }

    /// A port nothing listens on right now: bound, read, released.
    public static func freePort() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress?.port
        try await channel.close()
        guard let port else { throw TestFailure("could not read the probed port") }
        return port
    }

    public var pid: Int32 { process.processIdentifier }

    /// Returns once the kernel reports the process stopped: kill() returns before a running thread has stopped,
    /// and a request slipping into that window would be answered.
    public func pause() {
        kill(pid, SIGSTOP)
        for _ in 0..<200 {
            let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
            // The state letter follows the parenthesised command name.
            if let close = stat.lastIndex(of: ")"), stat[close...].dropFirst().trimmingPrefix(" ").first == "T" { return }
            usleep(5_000)
        }
    }

    public func resume() { kill(pid, SIGCONT) }

    public func stop() {
        if process.isRunning { kill(pid, SIGKILL) }
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: log)
    }

    private func waitUntilAccepting() async -> Bool {
        for _ in 0..<100 {
            guard process.isRunning else { return false }
            if let channel = try? await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.milliseconds(200)).connect(host: "127.0.0.1", port: port).get() {
                try? await channel.close()
                return true
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return false
    }
}

/// Awaits a future, failing instead of hanging the test run if it never completes.
public func within<Value: Sendable>(_ future: EventLoopFuture<Value>, seconds: Int64 = 10) async throws -> Value {
    let promise = future.eventLoop.makePromise(of: Value.self)
    future.cascade(to: promise)
    let timer = future.eventLoop.scheduleTask(in: .seconds(seconds)) {
        promise.fail(TestFailure("no result within \(seconds) s"))
    }
    defer { timer.cancel() }
    return try await promise.futureResult.get()
}
