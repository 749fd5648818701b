// Numbers distinct prepared-statement texts (query and parameter types) so that clients preparing the same one share it on a server.
import NIOConcurrencyHelpers
import NIOCore
import SessionCore
import Synchronization

/// Locked, but touched only when a client sends a named Parse, never on Bind or Execute.
final class StatementCatalog: StatementInterning, Sendable {
    /// Forgetting is safe: ids are never reused, so a text seen again after a purge just gets a new one.
    private static let capacity = 100_000
    private let state = NIOLockedValueBox<(ids: [ByteBuffer: Int], texts: [Int: ByteBuffer], next: Int)>(([:], [:], 0))

    func id(for parseTail: ByteBuffer) -> Int {
        state.withLockedValue { s in
            if let id = s.ids[parseTail] { return id }
            if s.ids.count >= Self.capacity {
                s.ids.removeAll()
                s.texts.removeAll()
                acceptedAt.withLockedValue { $0.removeAll() }
            }
            s.next += 1
            s.ids[parseTail] = s.next
            s.texts[s.next] = parseTail
            return s.next
        }
    }

    /// Bumped by every DDL a client sends (and every stale-plan failure): a Parse is answered without a server only
    /// for texts accepted since.
    private let epoch = Atomic<Int>(0)
    var schemaEpoch: Int { epoch.load(ordering: .acquiring) }
    func schemaChanged() { epoch.add(1, ordering: .releasing) }

    /// Statements whose result columns a server reported changed. Read at every Bind that must prepare a statement
    /// on a server, never on the common path.
    private let retiredIDs = NIOLockedValueBox<Set<Int>>([])

    func retire(_ id: Int) {
        state.withLockedValue { s in
            if let text = s.texts[id], s.ids[text] == id { s.ids[text] = nil }
        }
        retiredIDs.withLockedValue { _ = $0.insert(id) }
        schemaChanged()
    }

    func isRetired(_ id: Int) -> Bool {
        retiredIDs.withLockedValue { $0.contains(id) }
    }

    /// Statements PostgreSQL accepted (a ParseComplete came back), with the schema epoch then: a Parse of the same
    /// text and types may be answered without a server until the schema changes.
    /// Kept with the search_path it was parsed under: the same text may name other tables under another.
    private let acceptedAt = NIOLockedValueBox<[Int: (epoch: Int, searchPath: String)]>([:])

    func accepted(_ id: Int, searchPath: String) {
        let now = schemaEpoch
        acceptedAt.withLockedValue { $0[id] = (now, searchPath) }
    }

    func acceptedID(for parseTail: ByteBuffer, searchPath: String) -> Int? {
        guard let id = state.withLockedValue({ $0.ids[parseTail] }),
              let accepted = acceptedAt.withLockedValue({ $0[id] }),
              accepted.epoch == schemaEpoch, accepted.searchPath == searchPath else { return nil }
        return id
    }

    /// The query text of a statement (for SHOW PREPARED_STATEMENTS), if it has not been purged.
    func text(of id: Int) -> String? {
        guard var tail = state.withLockedValue({ $0.texts[id] }) else { return nil }
        return tail.readNullTerminatedString()
    }
}
