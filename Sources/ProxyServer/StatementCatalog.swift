// Numbers distinct prepared-statement texts (query and parameter types) so that clients preparing the same one share it on a server.
import NIOConcurrencyHelpers
import NIOCore

/// Locked, but touched only when a client sends a named Parse, never on Bind or Execute.
final class StatementCatalog: Sendable {
    /// Forgetting is safe: ids are never reused, so a text seen again after a purge just gets a new one.
    private static let capacity = 100_000
    private let state = NIOLockedValueBox<(ids: [ByteBuffer: Int], next: Int)>(([:], 0))

    func id(for parseTail: ByteBuffer) -> Int {
        state.withLockedValue { s in
            if let id = s.ids[parseTail] { return id }
            if s.ids.count >= Self.capacity { s.ids.removeAll() }
            s.next += 1
            s.ids[parseTail] = s.next
            return s.next
        }
    }
}
