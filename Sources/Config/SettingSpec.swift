// Describes one configuration key: its value type, default, meaning and whether pgswift implements it.

/// How a setting's text value is checked and interpreted.
public enum SettingKind: Sendable, Equatable {
    case string
    /// A whole number within the inclusive bounds.
    case integer(min: Int, max: Int)
    /// 0/1, yes/no, on/off, true/false (PgBouncer accepts all of these).
    case boolean
    /// A time span; a bare number is taken in `unit` (PgBouncer's "seconds" keys accept 1.5, "30s", "100ms").
    case duration(unit: DurationUnit)
    /// A byte count; bare numbers are bytes, suffixes kB, MB, GB accepted.
    case size
    /// A memory budget: as `size`, but not capped at PgBouncer's 2 GB (a cache tier may want more).
    case memory
    /// One of a fixed set of words (compared case-insensitively).
    case choice([String])
    /// A comma-separated list of words.
    case list
    /// How far behind a replica may be: a size (`1MB`) or a time (`500ms`, `2s`); `0` is no limit.
    case lag
}

public enum DurationUnit: Sendable, Equatable {
    case seconds
    case milliseconds
}

/// Whether pgswift gives a key PgBouncer's meaning, or accepts it only for compatibility.
public enum SettingSupport: Sendable, Equatable {
    /// Implemented with PgBouncer's meaning.
    case implemented
    /// Accepted so an existing pgbouncer.ini starts unchanged; a warning names the key.
    case acceptedWithWarning
    /// pgswift's own key (not in PgBouncer).
    case pgswift
}

public struct SettingSpec: Sendable, Equatable {
    public let name: String
    public let kind: SettingKind
    /// The default as it would be written in the file ("" for unset).
    public let defaultValue: String
    public let support: SettingSupport
    /// One line for `--help`, SHOW CONFIG and the sample ini.
    public let summary: String

    public init(_ name: String, _ kind: SettingKind, _ defaultValue: String, _ support: SettingSupport, _ summary: String) {
        self.name = name
        self.kind = kind
        self.defaultValue = defaultValue
        self.support = support
        self.summary = summary
    }
}
