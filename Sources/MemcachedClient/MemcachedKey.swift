// The keys memcached's text protocol can carry: 1 to 250 bytes, no space or control character.
enum MemcachedKey {
    static let maxLength = 250

    /// Checked before any thread is used: libmemcached would otherwise send a key that breaks the protocol line.
    static func validate(_ key: String) throws(MemcachedError) {
        let length = key.utf8.count
        guard length > 0 else { throw MemcachedError(.invalidKey, "the key is empty") }
        guard length <= maxLength else {
            throw MemcachedError(.invalidKey, "the key is \(length) bytes; memcached allows at most \(maxLength) (hash long keys)")
        }
        if let offset = key.utf8.firstIndex(where: { $0 <= 0x20 || $0 == 0x7F }) {
            let position = key.utf8.distance(from: key.utf8.startIndex, to: offset)
            throw MemcachedError(.invalidKey, "the key has a space or control character at byte \(position); memcached keys cannot")
        }
    }
}
