// Compressed bodies kept by strong ETag and coding, so an unchanged response (a page, a catalogue) is compressed once.
import NIOConcurrencyHelpers
import NIOCore

/// A strong ETag names exactly one sequence of bytes of its resource, so the compressed form can be reused for as long
/// as the tag is served. A tag hashed from the body names its bytes anywhere (no scope); an application's tag (its
/// own header or the version callback) only within its URL, which is then part of the scope with the content type. Bounded by entries and by bytes
/// held; the oldest entry goes first.
final class CompressedRepresentations: Sendable {
    private struct Key: Hashable {
        var scope: String
        var tag: String
        var coding: ContentCoding
    }

    private struct State {
        var bodies: [Key: ByteBuffer] = [:]
        var order: [Key] = []
        var bytes = 0
        var hits = 0
    }

    private let state = NIOLockedValueBox(State())
    let maxEntries: Int
    let maxBytes: Int

    init(maxEntries: Int, maxBytes: Int) {
        self.maxEntries = maxEntries
        self.maxBytes = maxBytes
    }

    func body(tag: EntityTag, coding: ContentCoding, scope: String = "") -> ByteBuffer? {
        guard maxEntries > 0, !tag.weak else { return nil }
        return state.withLockedValue { s in
            let body = s.bodies[Key(scope: scope, tag: tag.opaque, coding: coding)]
            if body != nil { s.hits += 1 }
            return body
        }
    }

    /// Bodies served from a kept copy (for tests and diagnostics).
    var hits: Int { state.withLockedValue { $0.hits } }

    func keep(_ body: ByteBuffer, tag: EntityTag, coding: ContentCoding, scope: String = "") {
        guard maxEntries > 0, !tag.weak, body.readableBytes <= maxBytes / 4 else { return }
        let key = Key(scope: scope, tag: tag.opaque, coding: coding)
        state.withLockedValue { s in
            guard s.bodies[key] == nil else { return }
            s.bodies[key] = body
            s.order.append(key)
            s.bytes += body.readableBytes
            while s.order.count > maxEntries || s.bytes > maxBytes, !s.order.isEmpty {
                let old = s.order.removeFirst()
                s.bytes -= s.bodies.removeValue(forKey: old)?.readableBytes ?? 0
            }
        }
    }
}
