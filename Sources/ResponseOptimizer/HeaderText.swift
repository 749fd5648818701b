// Byte-level, case-insensitive looks at header values, for the checks made on every response (no allocation).

enum HeaderText {
    @inline(__always)
    static func lower(_ b: UInt8) -> UInt8 { b >= 0x41 && b <= 0x5A ? b | 0x20 : b }

    static func bytes(_ s: StaticString) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount)
    }

    /// `value` equals `lowered` (lower-case ASCII), ignoring ASCII case.
    static func equals(_ value: UnsafeBufferPointer<UInt8>, _ lowered: UnsafeBufferPointer<UInt8>) -> Bool {
        guard value.count == lowered.count else { return false }
        for k in 0..<value.count where lower(value[k]) != lowered[k] { return false }
        return true
    }

    static func hasPrefix(_ value: UnsafeBufferPointer<UInt8>, _ lowered: UnsafeBufferPointer<UInt8>) -> Bool {
        guard value.count >= lowered.count else { return false }
        for k in 0..<lowered.count where lower(value[k]) != lowered[k] { return false }
        return true
    }

    /// Whether `value` contains `needle` (lower-case ASCII), ignoring ASCII case.
    static func contains(_ value: String, _ needle: StaticString) -> Bool {
        var value = value
        let n = bytes(needle)
        return value.withUTF8 { v in
            guard v.count >= n.count else { return false }
            for start in 0...(v.count - n.count) where hasPrefix(UnsafeBufferPointer(rebasing: v[start...]), n) { return true }
            return false
        }
    }

    /// Runs `body` over the media type of a Content-Type value: up to `;`, without surrounding spaces or tabs.
    static func withMediaType<T>(_ value: String, _ body: (UnsafeBufferPointer<UInt8>) -> T) -> T {
        var value = value
        return value.withUTF8 { v in
            var start = 0, end = v.firstIndex(of: UInt8(ascii: ";")) ?? v.count
            while start < end, v[start] == 0x20 || v[start] == 0x09 { start += 1 }
            while end > start, v[end - 1] == 0x20 || v[end - 1] == 0x09 { end -= 1 }
            return body(UnsafeBufferPointer(rebasing: v[start..<end]))
        }
    }
}
