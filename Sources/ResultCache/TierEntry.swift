// How an answer is written to a remote tier (Redis, Memcached): the key's whole material beside the answer, so a
// value is only ever used for the very key it was stored under (a hash of the key names it in the tier).
import NIOCore

public enum TierEntry {
    static let magic: [UInt8] = Array("PGSW1".utf8)

    public static func encode(material: [UInt8], answer: ByteBuffer) -> ByteBuffer {
        var out = ByteBuffer()
        out.reserveCapacity(magic.count + 4 + material.count + answer.readableBytes)
        out.writeBytes(magic)
        out.writeInteger(UInt32(material.count))
        out.writeBytes(material)
        var a = answer
        out.writeBuffer(&a)
        return out
    }

    /// The answer, if `value` was stored for exactly `material`; nil for anything else (another key whose hash is
    /// the same, a value from another program, a truncated value).
    public static func decode(_ value: ByteBuffer, material: [UInt8]) -> ByteBuffer? {
        var v = value
        guard v.readBytes(length: magic.count) == magic, let length = v.readInteger(as: UInt32.self), Int(length) == material.count,
              let stored = v.readBytes(length: Int(length)), stored == material, v.readableBytes > 0 else { return nil }
        return v.slice()
    }
}

/// What one instance tells the others when a write moves versions: which database (scope) and table, or every
/// table of it (`table` nil). `instance` lets the sender ignore its own messages.
public struct InvalidationMessage: Sendable, Equatable {
    public var instance: String
    public var scope: String
    public var table: String?

    public init(instance: String, scope: String, table: String?) {
        self.instance = instance
        self.scope = scope
        self.table = table
    }

    /// Fields separated by US (0x1F), which neither names nor scopes hold; `*` for every table.
    public var encoded: ByteBuffer {
        ByteBuffer(string: [instance, scope, table ?? "*"].joined(separator: "\u{1F}"))
    }

    public init?(_ payload: ByteBuffer) {
        guard let text = payload.getString(at: payload.readerIndex, length: payload.readableBytes) else { return nil }
        let f = text.split(separator: "\u{1F}", omittingEmptySubsequences: false).map(String.init)
        guard f.count == 3, !f[0].isEmpty, !f[1].isEmpty, !f[2].isEmpty else { return nil }
        self.init(instance: f[0], scope: f[1], table: f[2] == "*" ? nil : f[2])
    }
}
