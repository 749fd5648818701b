// Applies a FieldSelection to JSON text in one pass, copying the kept members byte for byte (order and
// number formatting stay as the handler wrote them).

/// The body was not the JSON it claimed to be.
public struct MalformedJSON: Error, Equatable {
    public let offset: Int
}

public enum JSONFieldFilter {
    /// Objects keep the selected members (a member with a sub-selection is filtered in turn, and so is each object of
    /// an array it holds); a top-level array has each of its objects filtered; unknown names are ignored.
    public static func filter(_ json: [UInt8], _ selection: FieldSelection) throws(MalformedJSON) -> [UInt8] {
        var scanner = Scanner(bytes: json)
        var out: [UInt8] = []
        out.reserveCapacity(json.count / 2)
        scanner.skipSpace()
        try scanner.value(selection, into: &out, depth: 0)
        scanner.skipSpace()
        guard scanner.i == json.count else { throw MalformedJSON(offset: scanner.i) }
        return out
    }

    private struct Scanner {
        let bytes: [UInt8]
        var i = 0

        var peek: UInt8? { i < bytes.count ? bytes[i] : nil }

        mutating func skipSpace() {
            while let c = peek, c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { i += 1 }
        }

        mutating func expect(_ c: UInt8) throws(MalformedJSON) {
            guard peek == c else { throw MalformedJSON(offset: i) }
            i += 1
        }

        /// A value, filtered by `selection` if it is an object or an array, copied as it is otherwise.
        mutating func value(_ selection: FieldSelection?, into out: inout [UInt8], depth: Int) throws(MalformedJSON) {
            guard depth < 256 else { throw MalformedJSON(offset: i) }
            guard let selection, let c = peek, c == UInt8(ascii: "{") || c == UInt8(ascii: "[") else {
                let start = i
                try skipValue()
                out.append(contentsOf: bytes[start..<i])
                return
            }
            if c == UInt8(ascii: "[") {
                i += 1
                out.append(c)
                skipSpace()
                if peek == UInt8(ascii: "]") {
                    i += 1
                    out.append(UInt8(ascii: "]"))
                    return
                }
                while true {
                    skipSpace()
                    try value(selection, into: &out, depth: depth + 1)
                    skipSpace()
                    if peek == UInt8(ascii: ",") {
                        i += 1
                        out.append(UInt8(ascii: ","))
                        continue
                    }
                    try expect(UInt8(ascii: "]"))
                    out.append(UInt8(ascii: "]"))
                    return
                }
            }
            i += 1
            out.append(c)
            var first = true
            skipSpace()
            if peek == UInt8(ascii: "}") {
                i += 1
                out.append(UInt8(ascii: "}"))
                return
            }
            while true {
                skipSpace()
                let keyStart = i
                let plain = try plainString()
                let (keep, sub): (Bool, FieldSelection?)
                if let plain {
                    (keep, sub) = selection.sub(forUTF8: bytes[plain])
                } else {
                    i = keyStart
                    (keep, sub) = selection.sub(for: try string())
                }
                let keyEnd = i
                skipSpace()
                try expect(UInt8(ascii: ":"))
                skipSpace()
                if keep {
                    if !first { out.append(UInt8(ascii: ",")) }
                    first = false
                    out.append(contentsOf: bytes[keyStart..<keyEnd])
                    out.append(UInt8(ascii: ":"))
                    try value(sub, into: &out, depth: depth + 1)
                } else {
                    try skipValue()
                }
                skipSpace()
                if peek == UInt8(ascii: ",") {
                    i += 1
                    continue
                }
                try expect(UInt8(ascii: "}"))
                out.append(UInt8(ascii: "}"))
                return
            }
        }

        /// Moves past a string with no escapes in it and returns the range of its bytes between the quotes; nil (and
        /// somewhere inside the string) if it has an escape, which `string()` then decodes from the start.
        mutating func plainString() throws(MalformedJSON) -> Range<Int>? {
            try expect(UInt8(ascii: "\""))
            let start = i
            while let c = peek {
                if c == UInt8(ascii: "\"") {
                    i += 1
                    return start..<(i - 1)
                }
                if c == UInt8(ascii: "\\") { return nil }
                i += 1
            }
            throw MalformedJSON(offset: i)
        }

        /// A string, decoded (member names are compared decoded, so `"na\u006de"` is `name`).
        mutating func string() throws(MalformedJSON) -> String {
            try expect(UInt8(ascii: "\""))
            var scalars = String.UnicodeScalarView()
            var plainStart = i
            var decoded: [UInt8] = []
            while true {
                guard let c = peek else { throw MalformedJSON(offset: i) }
                if c == UInt8(ascii: "\"") {
                    decoded.append(contentsOf: bytes[plainStart..<i])
                    i += 1
                    break
                }
                if c == UInt8(ascii: "\\") {
                    decoded.append(contentsOf: bytes[plainStart..<i])
                    i += 1
                    guard let e = peek else { throw MalformedJSON(offset: i) }
                    i += 1
                    switch e {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): decoded.append(e)
                    case UInt8(ascii: "b"): decoded.append(0x08)
                    case UInt8(ascii: "f"): decoded.append(0x0C)
                    case UInt8(ascii: "n"): decoded.append(0x0A)
                    case UInt8(ascii: "r"): decoded.append(0x0D)
                    case UInt8(ascii: "t"): decoded.append(0x09)
                    case UInt8(ascii: "u"):
                        guard i + 4 <= bytes.count, let v = UInt32(String(decoding: bytes[i..<i + 4], as: UTF8.self), radix: 16) else {
                            throw MalformedJSON(offset: i)
                        }
                        i += 4
                        // Surrogate pairs decode to one scalar; a lone surrogate cannot name a member anyone selects.
                        var scalar = Unicode.Scalar(v)
                        if (0xD800..<0xDC00).contains(v), i + 6 <= bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u"),
                           let low = UInt32(String(decoding: bytes[i + 2..<i + 6], as: UTF8.self), radix: 16), (0xDC00..<0xE000).contains(low) {
                            i += 6
                            scalar = Unicode.Scalar(0x10000 + ((v - 0xD800) << 10) + (low - 0xDC00))
                        }
                        decoded.append(contentsOf: Array(String(scalar.map { Character($0) } ?? "\u{FFFD}").utf8))
                    default:
                        throw MalformedJSON(offset: i - 1)
                    }
                    plainStart = i
                    continue
                }
                i += 1
            }
            scalars.append(contentsOf: String(decoding: decoded, as: UTF8.self).unicodeScalars)
            return String(scalars)
        }

        /// Moves past a string, escapes included, without decoding it.
        mutating func skipString() throws(MalformedJSON) {
            try expect(UInt8(ascii: "\""))
            while let c = peek {
                i += 1
                if c == UInt8(ascii: "\"") { return }
                if c == UInt8(ascii: "\\") {
                    guard peek != nil else { break }
                    i += 1
                }
            }
            throw MalformedJSON(offset: i)
        }

        /// Moves past one value without looking inside more than it must.
        mutating func skipValue() throws(MalformedJSON) {
            guard let c = peek else { throw MalformedJSON(offset: i) }
            switch c {
            case UInt8(ascii: "\""):
                try skipString()
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                var depth = 0
                while let d = peek {
                    if d == UInt8(ascii: "\"") {
                        try skipString()
                        continue
                    }
                    i += 1
                    if d == UInt8(ascii: "{") || d == UInt8(ascii: "[") { depth += 1 }
                    if d == UInt8(ascii: "}") || d == UInt8(ascii: "]") {
                        depth -= 1
                        if depth == 0 { return }
                    }
                }
                throw MalformedJSON(offset: i)
            default:
                let start = i
                while let d = peek, d != UInt8(ascii: ","), d != UInt8(ascii: "}"), d != UInt8(ascii: "]"),
                      d != 0x20, d != 0x0A, d != 0x0D, d != 0x09 { i += 1 }
                guard i > start else { throw MalformedJSON(offset: i) }
            }
        }
    }
}
