// What a `/* pgswift: cache ... */` or `/* pgswift: no cache */` comment asks of the result cache.
public enum CacheHint: Sendable, Equatable {
    /// Keep this read's answer (if it is safe to keep), for `ttl` seconds (nil: the rule's or the default), under tags.
    case cache(ttl: Double?, tags: [String])
    /// Never answer this read from the cache, nor keep its answer.
    case noCache

    /// The cache's hint among a statement's hints (the text after "pgswift:" of each comment), the last one winning;
    /// nil when none speaks of the cache. A malformed ttl makes no hint (the read is treated as if uncommented).
    public static func find(in hints: [String]) -> CacheHint? {
        var found: CacheHint?
        for h in hints {
            // Keywords in any case; tag names as written (CACHE INVALIDATE TAG matches them exactly, as rules' tags).
            let written = h.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).map(String.init)
            let words = written.map { $0.lowercased() }
            guard let first = words.first else { continue }
            if first == "nocache" || first == "no_cache" || (first == "no" && words.count > 1 && words[1] == "cache") {
                found = .noCache
                continue
            }
            guard first == "cache" else { continue }
            var ttl: Double?, tags: [String] = [], valid = true
            for (w, asWritten) in zip(words, written).dropFirst() {
                if w.hasPrefix("ttl=") {
                    ttl = seconds(String(w.dropFirst(4)))
                    if ttl == nil { valid = false }
                } else if w.hasPrefix("tags=") || w.hasPrefix("tag=") {
                    tags += asWritten.drop(while: { $0 != "=" }).dropFirst().split(separator: ",").map(String.init)
                }
            }
            if valid { found = .cache(ttl: ttl, tags: tags) }
        }
        return found
    }

    /// `30`, `30s`, `500ms`, `5m`, `1h` as seconds: positive, finite and at most a year (`inf` is no time).
    static func seconds(_ text: String) -> Double? {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        var number = Substring(text), scale = 1.0
        for (suffix, s) in units where text.hasSuffix(suffix) {
            number = text.dropLast(suffix.count)
            scale = s
            break
        }
        guard number.allSatisfy({ $0.isNumber || $0 == "." }), let n = Double(number), n > 0, n * scale <= 366 * 86400 else { return nil }
        return n * scale
    }
}
