// Entity tags (RFC 9110 section 8.8.3): computed from a body or a version, and the If-Match / If-None-Match checks.
import CLibCrypto
import NIOCore

public struct EntityTag: Sendable, Equatable, CustomStringConvertible {
    public var opaque: String
    public var weak: Bool

    public init(opaque: String, weak: Bool = false) {
        self.opaque = opaque
        self.weak = weak
    }

    /// A strong tag from the SHA-256 of the body (its first 128 bits, hex).
    public init(body: ByteBuffer) {
        // On every tagged response: the digest lives on the stack and the text is written straight into the string.
        let opaque = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: Int(SHA256_DIGEST_LENGTH)) { digest in
            body.withUnsafeReadableBytes { raw in
                _ = SHA256(raw.bindMemory(to: UInt8.self).baseAddress, raw.count, digest.baseAddress)
            }
            return String(unsafeUninitializedCapacity: 32) { text in
                for k in 0..<16 {
                    text[2 * k] = Self.hexDigit(digest[k] >> 4)
                    text[2 * k + 1] = Self.hexDigit(digest[k] & 0x0F)
                }
                return 32
            }
        }
        self.init(opaque: opaque)
    }

    private static func hexDigit(_ v: UInt8) -> UInt8 { v < 10 ? 0x30 + v : 0x57 + v }

    /// A strong tag from a version the application keeps (a row version, an update counter, a content hash).
    public init(version: String) {
        self.init(opaque: "v-" + version.filter { $0 != "\"" && $0 != "\\" && $0.isASCII && !$0.isWhitespace })
    }

    public var description: String { (weak ? "W/" : "") + "\"" + opaque + "\"" }

    /// Parses one tag as it appears in a header (`"abc"` or `W/"abc"`).
    public init?(parsing text: some StringProtocol) {
        var s = Substring(text).trimmingSpaces()[...]
        var weak = false
        if s.hasPrefix("W/") {
            weak = true
            s = s.dropFirst(2)
        }
        guard s.count >= 2, s.first == "\"", s.last == "\"" else { return nil }
        self.init(opaque: String(s.dropFirst().dropLast()), weak: weak)
    }

    /// The same representation, compressed: a strong tag must differ for each content coding.
    public func coded(_ coding: ContentCoding) -> EntityTag {
        coding == .identity ? self : EntityTag(opaque: opaque + "-" + coding.rawValue, weak: weak)
    }

    /// This tag as it was before a content coding was added to it (what a client sends back).
    var uncoded: EntityTag {
        for coding in ContentCoding.allCases where coding != .identity && opaque.hasSuffix("-" + coding.rawValue) {
            return EntityTag(opaque: String(opaque.dropLast(coding.rawValue.count + 1)), weak: weak)
        }
        return self
    }

    func matchesStrongly(_ other: EntityTag) -> Bool { !weak && !other.weak && opaque == other.opaque }
    func matchesWeakly(_ other: EntityTag) -> Bool { opaque == other.opaque }
}

/// The outcome of a request's preconditions against the current representation.
public enum PreconditionOutcome: Equatable, Sendable {
    case proceed
    /// 304: the client's copy is current (GET and HEAD).
    case notModified
    /// 412: If-Match failed, or If-None-Match matched on a method that changes state.
    case preconditionFailed
}

public enum Preconditions {
    /// RFC 9110 section 13.2.2, for a resource whose current tag is `current` (nil: it does not exist).
    /// `ifMatch`/`ifNoneMatch` are the header values, possibly several joined by commas.
    public static func evaluate(method: String, ifMatch: String?, ifNoneMatch: String?, current: EntityTag?) -> PreconditionOutcome {
        if let ifMatch {
            let list = tags(ifMatch)
            let ok: Bool = switch list {
            case .any: current != nil
            case .tags(let tags): current.map { c in tags.contains { $0.uncoded.matchesStrongly(c) } } ?? false
            }
            if !ok { return .preconditionFailed }
        }
        if let ifNoneMatch {
            let list = tags(ifNoneMatch)
            let matched: Bool = switch list {
            case .any: current != nil
            case .tags(let tags): current.map { c in tags.contains { $0.uncoded.matchesWeakly(c) } } ?? false
            }
            if matched { return method == "GET" || method == "HEAD" ? .notModified : .preconditionFailed }
        }
        return .proceed
    }

    enum TagList {
        case any
        case tags([EntityTag])
    }

    /// A comma-separated list of tags, or `*`. Commas inside quotes belong to the tag.
    static func tags(_ header: String) -> TagList {
        if header.trimmingCharacters(in: " \t") == "*" { return .any }
        var result: [EntityTag] = []
        var current = ""
        var quoted = false
        for c in header {
            if c == "\"" { quoted.toggle() }
            if c == ",", !quoted {
                if let t = EntityTag(parsing: current) { result.append(t) }
                current = ""
            } else {
                current.append(c)
            }
        }
        if let t = EntityTag(parsing: current) { result.append(t) }
        return .tags(result)
    }
}

extension String {
    func leftPadded(_ n: Int) -> String { count >= n ? self : String(repeating: "0", count: n - count) + self }

    func trimmingCharacters(in set: String) -> String {
        var s = self[...]
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
