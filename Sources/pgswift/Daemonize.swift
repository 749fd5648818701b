// -d: starts pgswift again as a detached process in its own session, so the caller's shell returns.
import Foundation

enum Daemonize {
    /// glibc's POSIX_SPAWN_SETSID (a macro Swift does not import): the child starts a new session.
    private static let spawnSetsid: Int16 = 0x80

    /// Spawns this executable with `arguments` (without -d) detached from the terminal; returns the child's pid.
    /// A fresh process rather than fork(): the Swift runtime has threads by now, and fork keeps only one.
    static func spawnDetached(arguments: [String]) throws -> pid_t {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        posix_spawnattr_setflags(&attr, spawnSetsid)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for fd: Int32 in [0, 1, 2] {
            posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0)
        }
        let argv = ([exe] + arguments).map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, exe, &actions, &attr, argv, environ)
        guard rc == 0 else {
            throw DaemonizeError(message: "cannot start background process: \(String(cString: strerror(rc)))")
        }
        return pid
    }
}

struct DaemonizeError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
