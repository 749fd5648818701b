// Numbers distinct prepared-statement texts (query and parameter types) so that clients preparing the same one share it on a server.
import NIOConcurrencyHelpers
import NIOCore
import SessionCore
import Synchronization

/// Locked, but touched only when a client sends a named Parse, a server accepts or fails one, or a statement must be
/// prepared on a server that lacks it; never on a Bind or Execute of a statement the server has.
final class StatementCatalog: StatementInterning, Sendable {
    /// Forgetting is safe: ids are never reused, so a text seen again after a purge just gets a new one.
    private static let capacity = 100_000

    private struct Entries {
        var ids: [ByteBuffer: Int] = [:]
        var texts: [Int: ByteBuffer] = [:]
        var next = 0
        /// Statements PostgreSQL accepted (a ParseComplete came back), with the schema epoch and the search_path then:
        /// a Parse of the same text and types may be answered without a server until the schema changes, under the
        /// same search_path only (the same text may name other tables under another).
        var accepted: [Int: (epoch: Int, searchPath: String)] = [:]
        /// Statements whose result columns a server reported changed; their text maps to a new id from then on.
        var retired: Set<Int> = []
    }

    private let state = NIOLockedValueBox(Entries())

    func id(for parseTail: ByteBuffer) -> Int {
        state.withLockedValue { s in
            if let id = s.ids[parseTail] { return id }
            if s.ids.count >= Self.capacity {
                s.ids.removeAll()
                s.texts.removeAll()
                s.accepted.removeAll()
            }
            s.next += 1
            s.ids[parseTail] = s.next
            s.texts[s.next] = parseTail
            return s.next
        }
    }

    /// Bumped by every DDL a client sends: a Parse is answered without a server only for texts accepted since.
    private let epoch = Atomic<Int>(0)
    var schemaEpoch: Int { epoch.load(ordering: .acquiring) }
    func schemaChanged() { epoch.add(1, ordering: .releasing) }

    func retire(_ id: Int) {
        state.withLockedValue { s in
            if let text = s.texts[id], s.ids[text] == id { s.ids[text] = nil }
            s.accepted[id] = nil
            s.retired.insert(id)
        }
    }

    func isRetired(_ id: Int) -> Bool {
        state.withLockedValue { $0.retired.contains(id) }
    }

    func accepted(_ id: Int, searchPath: String) {
        let now = schemaEpoch
        state.withLockedValue { $0.accepted[id] = (now, searchPath) }
    }

    func acceptedID(for parseTail: ByteBuffer, searchPath: String) -> Int? {
        let now = schemaEpoch
        return state.withLockedValue { s in
            guard let id = s.ids[parseTail], let a = s.accepted[id], a.epoch == now, a.searchPath == searchPath else { return nil }
            return id
        }
    }

    /// The query text of a statement (for SHOW PREPARED_STATEMENTS), if it has not been purged.
    func text(of id: Int) -> String? {
        guard var tail = state.withLockedValue({ $0.texts[id] }) else { return nil }
        return tail.readNullTerminatedString()
    }
}
