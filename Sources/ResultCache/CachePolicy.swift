// Whether one read's answer is looked up and kept, for how long and under which tags: the rules, the statement's
// comment and its safety, decided together.
import Config
import SQLAnalysis

/// The rules of [cache_rules] as the data path reads them: by table (bare name, and schema-qualified) and fingerprint.
public struct CacheRules: Sendable {
    public let defaultTTL: Double
    private var tables: [String: [CacheRuleEntry]] = [:]
    private var fingerprints: [UInt64: CacheRuleEntry] = [:]
    public let entries: [CacheRuleEntry]

    public init(_ entries: [CacheRuleEntry], defaultTTL: Double) {
        self.defaultTTL = defaultTTL
        self.entries = entries
        for e in entries {
            switch e.target {
            case .table(_, let name): tables[name, default: []].append(e)
            case .fingerprint(let f): fingerprints[f] = e
            }
        }
    }

    public var isEmpty: Bool { entries.isEmpty }

    /// A search_path setting as the schemas it names in order, `$user` as `user` (PostgreSQL's default when unset):
    /// quoted names keep their case, others are folded.
    public static func schemas(searchPath: String?, user: String) -> [String] {
        let text = searchPath ?? "\"$user\", public"
        return text.split(separator: ",").map { part in
            var s = Substring(part.drop(while: { $0 == " " || $0 == "\t" }))
            while let last = s.last, last == " " || last == "\t" { s = s.dropLast() }
            let name = s.count >= 2 && s.hasPrefix("\"") && s.hasSuffix("\"") ? String(s.dropFirst().dropLast()) : s.lowercased()
            return name == "$user" ? user : name
        }
    }

    /// The rule for `relation` as the statement names it: a qualified name takes the rule of that schema, or an
    /// unqualified rule; an unqualified one takes an unqualified rule, or that of the first schema of `searchPath`
    /// that has one (PostgreSQL would look there first; a table of the same name in an earlier schema only makes
    /// the rule apply where none was meant, never a stale read: keys carry the search_path).
    func rule(for relation: QualifiedName, searchPath: [String]) -> CacheRuleEntry? {
        guard let candidates = tables[relation.name] else { return nil }
        func inSchema(_ s: String?) -> CacheRuleEntry? {
            candidates.first { if case .table(let schema, _) = $0.target { return schema == s }; return false }
        }
        if let schema = relation.schema { return inSchema(schema) ?? inSchema(nil) }
        if let any = inSchema(nil) { return any }
        for s in searchPath { if let r = inSchema(s) { return r } }
        return nil
    }

    func rule(fingerprint: UInt64?) -> CacheRuleEntry? { fingerprint.flatMap { fingerprints[$0] } }
}

/// What the data path does with one read.
public enum CacheDecision: Sendable, Equatable {
    /// Look it up; on a miss keep the answer for `ttl` seconds under `tags`.
    case keep(ttl: Double, tags: [String])
    /// Neither look up nor keep, for this reason.
    case pass(CachePass)

    /// Not safe to keep whatever the rules say (what `cache = auto` does not count as a candidate).
    public var unsafe: Bool {
        if case .pass(.unsafe) = self { return true }
        return false
    }
}

public enum CachePass: Sendable, Equatable {
    /// Not safe to keep, whatever a rule or comment says.
    case unsafe(Uncacheable)
    /// `/* pgswift: no cache */`, or a rule of `off` for a table it reads.
    case refused
    /// Some table it reads has no rule, and no comment asks for it.
    case noRule
}

public enum CachePolicy {
    /// - `searchPath`: the client's schemas in order (`$user` already replaced, or dropped), for unqualified names.
    /// - `volatile`, `stable`, `nonPermanent`: what the catalog says (see Cacheability).
    public static func decide(_ profile: StatementProfile, hints: [String], rules: CacheRules, searchPath: [String],
                              volatile: Set<String> = [], stable: Set<String> = [], nonPermanent: Set<String> = []) -> CacheDecision {
        let hint = CacheHint.find(in: hints)
        if hint == .noCache { return .pass(.refused) }
        if let why = Cacheability.verdict(profile, volatile: volatile, stable: stable, nonPermanent: nonPermanent) {
            return .pass(.unsafe(why))
        }
        // The tables' own rules: a table marked off is never kept, even when a comment asks.
        var ttl: Double?, tags: [String] = [], covered = !profile.relations.isEmpty
        for r in profile.relations {
            guard let rule = rules.rule(for: r, searchPath: searchPath) else {
                covered = false
                continue
            }
            if rule.ttl == 0 { return .pass(.refused) }
            let t = rule.ttl ?? rules.defaultTTL
            ttl = min(ttl ?? t, t)
            tags += rule.tags
        }
        // A fingerprint marked off is never kept either; its tags join the tables'.
        let statementRule = rules.rule(fingerprint: profile.fingerprint)
        if statementRule?.ttl == 0 { return .pass(.refused) }
        if case .cache(let hintTTL, let hintTags)? = hint {
            return .keep(ttl: hintTTL ?? ttl ?? statementRule?.ttl ?? rules.defaultTTL, tags: unique(tags + (statementRule?.tags ?? []) + hintTags))
        }
        if let rule = statementRule {
            return .keep(ttl: rule.ttl ?? rules.defaultTTL, tags: unique(tags + rule.tags))
        }
        guard covered, let ttl else { return .pass(.noRule) }
        return .keep(ttl: ttl, tags: unique(tags))
    }

    private static func unique(_ tags: [String]) -> [String] {
        var seen: Set<String> = []
        return tags.filter { seen.insert($0).inserted }
    }
}
