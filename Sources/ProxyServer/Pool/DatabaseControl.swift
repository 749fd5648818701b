// Per-database switches of the admin console: PAUSE db / KILL db (clients queue), DISABLE db (logins refused).
import NIOConcurrencyHelpers
import Synchronization

final class DatabaseControl: Sendable {
    private struct Entry {
        var paused = false
        var disabled = false
        var queue: [@Sendable () -> Void] = []
    }

    private let state = NIOLockedValueBox<[String: Entry]>([:])
    /// How many databases are paused, read without the lock on every lease.
    private let pausedCount = Atomic<Int>(0)

    var anyPaused: Bool { pausedCount.load(ordering: .relaxed) > 0 }

    func isPaused(_ db: String) -> Bool { state.withLockedValue { $0[db]?.paused ?? false } }
    func isDisabled(_ db: String) -> Bool { state.withLockedValue { $0[db]?.disabled ?? false } }

    func setDisabled(_ db: String, _ on: Bool) {
        state.withLockedValue { $0[db, default: Entry()].disabled = on }
    }

    /// Returns false if the database was already in that state.
    @discardableResult
    func setPaused(_ db: String, _ on: Bool) -> Bool {
        let (changed, released) = state.withLockedValue { s -> (Bool, [@Sendable () -> Void]) in
            var e = s[db, default: Entry()]
            guard e.paused != on else { return (false, []) }
            e.paused = on
            pausedCount.add(on ? 1 : -1, ordering: .sequentiallyConsistent)
            let queued = on ? [] : e.queue
            if !on { e.queue = [] }
            s[db] = e
            return (true, queued)
        }
        for go in released { go() }
        return changed
    }

    /// Runs `go` now, or when the database is resumed.
    func whenNotPaused(_ db: String, _ go: @escaping @Sendable () -> Void) {
        let now = state.withLockedValue { s -> Bool in
            guard s[db]?.paused == true else { return true }
            s[db]!.queue.append(go)
            return false
        }
        if now { go() }
    }
}
