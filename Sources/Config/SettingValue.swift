// Checks a setting's text against its kind and turns it into a typed value.

public enum SettingValue: Sendable, Equatable {
    case string(String)
    case integer(Int)
    case boolean(Bool)
    /// Always held in seconds, whatever unit the key counts in.
    case seconds(Double)
    case bytes(Int)
    case list([String])
    /// replica_max_lag: a byte count or a time, or neither (no limit).
    case lag(bytes: Int?, seconds: Double?)

    public static func parse(_ text: String, as kind: SettingKind) -> Result<SettingValue, ConfigMessage> {
        let t = text.trimmingWhitespace
        switch kind {
        case .string:
            return .success(.string(t))
        case .integer(let lo, let hi):
            guard let v = Int(t) else { return .failure(ConfigMessage("invalid integer \"\(t)\"")) }
            guard v >= lo && v <= hi else { return .failure(ConfigMessage("\(v) is out of range \(lo)...\(hi)")) }
            return .success(.integer(v))
        case .boolean:
            switch t.lowercased() {
            case "1", "yes", "on", "true": return .success(.boolean(true))
            case "0", "no", "off", "false": return .success(.boolean(false))
            default: return .failure(ConfigMessage("invalid boolean \"\(t)\" (use 0/1, yes/no, on/off, true/false)"))
            }
        case .duration(let unit):
            return parseDuration(t, unit: unit).map { .seconds($0) }
        case .size:
            return parseSize(t).map { .bytes($0) }
        case .memory:
            return parseSize(t, limit: 1 << 40).map { .bytes($0) }
        case .choice(let words):
            guard let w = words.first(where: { $0.caseInsensitiveEquals(t) }) else {
                return .failure(ConfigMessage("invalid value \"\(t)\" (expected one of: \(words.joined(separator: ", ")))"))
            }
            return .success(.string(w))
        case .list:
            return .success(.list(t.split(separator: ",").map { String($0).trimmingWhitespace }.filter { !$0.isEmpty }))
        case .lag:
            return parseLag(t)
        }
    }

    static func parseDuration(_ t: String, unit: DurationUnit) -> Result<Double, ConfigMessage> {
        let suffixes: [(String, Double)] = [("ms", 0.001), ("us", 0.000_001), ("min", 60), ("s", 1), ("h", 3600), ("d", 86400)]
        var number = Substring(t)
        var scale: Double = unit == .seconds ? 1 : 0.001
        for (suffix, s) in suffixes where t.lowercased().hasSuffix(suffix) {
            number = t.dropLast(suffix.count)
            scale = s
            break
        }
        guard let v = Double(number.trimmingWhitespace), v >= 0, v.isFinite else {
            return .failure(ConfigMessage("invalid duration \"\(t)\""))
        }
        return .success(v * scale)
    }

    /// A bare number would be ambiguous between bytes and time: only 0 may go without a unit.
    static func parseLag(_ t: String) -> Result<SettingValue, ConfigMessage> {
        if let n = Double(t), n == 0 { return .success(.lag(bytes: nil, seconds: nil)) }
        let lower = t.lowercased()
        if lower.hasSuffix("b") || lower.hasSuffix("k") || lower.hasSuffix("m") || lower.hasSuffix("g") {
            if !lower.hasSuffix("ms"), case .success(let n) = parseSize(t), lower.last != "m" || lower.hasSuffix("mb") {
                return .success(.lag(bytes: n, seconds: nil))
            }
        }
        if lower.last?.isLetter == true, lower.last != "b", case .success(let s) = parseDuration(t, unit: .seconds) {
            return .success(.lag(bytes: nil, seconds: s))
        }
        return .failure(ConfigMessage("invalid lag \"\(t)\" (a size such as 1MB or a time such as 500ms; 0 for no limit)"))
    }

    static func parseSize(_ t: String, limit: Int = Int(Int32.max)) -> Result<Int, ConfigMessage> {
        let suffixes: [(String, Int)] = [("kb", 1024), ("mb", 1024 * 1024), ("gb", 1024 * 1024 * 1024), ("k", 1024), ("m", 1024 * 1024), ("g", 1024 * 1024 * 1024), ("b", 1)]
        var number = Substring(t)
        var scale = 1
        for (suffix, s) in suffixes where t.lowercased().hasSuffix(suffix) {
            number = t.dropLast(suffix.count)
            scale = s
            break
        }
        guard let v = Int(number.trimmingWhitespace), v >= 0, v <= limit / scale else {
            return .failure(ConfigMessage("invalid size \"\(t)\""))
        }
        return .success(v * scale)
    }
}

extension StringProtocol {
    var trimmingWhitespace: String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }

    func caseInsensitiveEquals(_ other: some StringProtocol) -> Bool {
        lowercased() == other.lowercased()
    }
}
