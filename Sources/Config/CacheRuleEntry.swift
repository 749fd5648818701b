// One line of [cache_rules]: which reads the result cache may keep (those of a table, or of one statement
// fingerprint), for how long, under which tags.
public struct CacheRuleEntry: Sendable, Equatable {
    public enum Target: Sendable, Hashable, CustomStringConvertible {
        /// Reads of this table (schema nil: the name as search_path finds it, in any schema).
        case table(schema: String?, name: String)
        /// Statements with this fingerprint (libpg_query's, as SHOW CACHE_CANDIDATES prints it).
        case fingerprint(UInt64)

        /// A table's name without its schema (nil for a fingerprint).
        public var bareName: String? {
            if case .table(_, let name) = self { return name }
            return nil
        }

        public var description: String {
            switch self {
            case .table(let schema, let name): schema.map { "\($0).\(name)" } ?? name
            case .fingerprint(let f): "fingerprint." + String(f, radix: 16).leftPadded(to: 16)
            }
        }
    }

    public var target: Target
    /// Seconds an answer lives; nil: cache_default_ttl. 0 (`off`): reads it covers are never kept.
    public var ttl: Double?
    public var tags: [String]
    public var source: ValueSource

    public init(target: Target, ttl: Double?, tags: [String] = [], source: ValueSource = .defaultValue) {
        self.target = target
        self.ttl = ttl
        self.tags = tags
        self.source = source
    }

    /// `key = value` of the section: `public.products = 60s`, `products = 5m tags=catalog,home`,
    /// `fingerprint.0a1b2c3d4e5f6071 = 30s`, `audit_log = off`, `orders = default tags=orders`.
    static func parse(_ e: IniEntry) -> Result<CacheRuleEntry, ConfigError> {
        func fail(_ m: String) -> Result<CacheRuleEntry, ConfigError> {
            .failure(ConfigError(file: e.file, line: e.line, key: e.key, message: m))
        }
        // As written: a quoted identifier keeps its case (the reader would take the quotes off a wholly quoted key).
        let key = (e.rawKey.isEmpty ? e.key : e.rawKey).trimmingWhitespace
        let target: Target
        if key.lowercased().hasPrefix("fingerprint.") {
            let hex = key.dropFirst("fingerprint.".count)
            guard !hex.isEmpty, hex.count <= 16, let f = UInt64(hex, radix: 16) else {
                return fail("invalid fingerprint \"\(hex)\" (up to 16 hexadecimal digits)")
            }
            target = .fingerprint(f)
        } else {
            guard let name = Self.tableName(key) else {
                return fail("invalid table name \"\(key)\" (name or schema.name; double quotes keep case)")
            }
            target = name
        }
        var words = e.value.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        var tags: [String] = []
        if let i = words.firstIndex(where: { $0.lowercased().hasPrefix("tags=") }) {
            tags = words[i].dropFirst(5).split(separator: ",").map { String($0) }.filter { !$0.isEmpty }
            words.remove(at: i)
            guard !tags.isEmpty else { return fail("tags= names no tag") }
        }
        guard words.count == 1 else {
            return fail("invalid rule \"\(e.value)\" (expected a time such as 60s, `default` or `off`, then optionally tags=a,b)")
        }
        let ttl: Double?
        switch words[0].lowercased() {
        case "off", "never", "0": ttl = 0
        case "default": ttl = nil
        default:
            // `5m` is minutes here, as in the comments' ttl= (PgBouncer's durations spell it `min`).
            var time = words[0]
            if time.lowercased().hasSuffix("m"), !time.lowercased().hasSuffix("ms") { time += "in" }
            switch SettingValue.parse(time, as: .duration(unit: .seconds)) {
            case .success(.seconds(let s)) where s > 0: ttl = s
            case .success: return fail("invalid time \"\(words[0])\"")
            case .failure(let m): return fail(m.text)
            }
        }
        return .success(CacheRuleEntry(target: target, ttl: ttl, tags: tags, source: .file(e.file, line: e.line)))
    }

    /// `name` or `schema.name`, folded to lower case as PostgreSQL folds identifiers unless double-quoted.
    public static func tableName(_ text: String) -> Target? {
        var parts: [String] = []
        var current = "", quoted = false, wasQuoted = false
        var chars = Array(text)[...]
        while let c = chars.popFirst() {
            if quoted {
                if c == "\"" {
                    if chars.first == "\"" { current.append("\""); chars.removeFirst() } else { quoted = false }
                } else {
                    current.append(c)
                }
            } else if c == "\"" {
                guard current.isEmpty else { return nil }
                quoted = true
                wasQuoted = true
            } else if c == "." {
                guard !current.isEmpty else { return nil }
                parts.append(current)
                current = ""
                wasQuoted = false
            } else {
                guard !wasQuoted, c.isLetter || c.isNumber || c == "_" || c == "$" else { return nil }
                current.append(contentsOf: c.lowercased())
            }
        }
        guard !quoted, !current.isEmpty else { return nil }
        parts.append(current)
        switch parts.count {
        case 1: return .table(schema: nil, name: parts[0])
        case 2: return .table(schema: parts[0], name: parts[1])
        default: return nil
        }
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
