// The result cache as the admin console sees it: each loop's tier summed for SHOW CACHE, and the operator's drops.
import AdminConsole
import Foundation
import Config
import ResultCache

extension RuntimeConsole {
    func cacheTiers() async throws -> [AdminCacheTier] { try await runtime.cacheTierRows() }

    func cacheCandidates() async throws -> [AdminCacheCandidate] {
        var all = CacheCandidates()
        for part in try await runtime.gather({ [$0.cache.candidates] }).get() { all.merge(part) }
        return all.entries.values.map { e in
            AdminCacheCandidate(fingerprint: e.fingerprint, sample: e.sample, tables: e.tables, reads: e.reads, repeats: e.repeats,
                                tableWrites: e.tables.reduce(0) { $0 + (all.writes[$1] ?? 0) })
        }
    }

    func cacheClear() async throws -> Int {
        try await shareDrop(table: nil)
        return try await runtime.gather { [$0.cache.clear()] }.get().reduce(0, +)
    }

    /// What an operator dropped, dropped for every instance sharing the Redis: a table's versions move in every
    /// database this instance served; anything else (the shared tiers cannot find answers by tag) starts a new
    /// generation, and every database's epoch moves so the other instances drop what their loops hold.
    private func shareDrop(table: String?) async throws {
        guard let remote = runtime.remoteCache else { return }
        let runtime = self.runtime
        try await runtime.loops[0].submit {
            let now = runtime.now()
            if table == nil { _ = remote.newGeneration(now: now) }
            for scope in runtime.cacheCatalogs.names { remote.wrote(loop: 0, scope: scope, tables: table.map { [$0] }, now: now) }
        }.get()
    }

    func cacheInvalidate(_ target: AdminCacheTarget) async throws -> Int {
        let match: @Sendable (CachedAnswer) -> Bool
        switch target {
        case .table(let name):
            // Versions follow bare names: the schema, if given, only narrows what the operator meant.
            let bare = CacheRuleEntry.tableName(name)?.bareName ?? name.lowercased()
            runtime.cacheVersions.wroteEverywhere(table: bare)
            try await shareDrop(table: bare)
            match = { $0.tables.contains(bare) }
        case .tag(let tag):
            try await shareDrop(table: nil)
            match = { $0.tags.contains(tag) }
        case .fingerprint(let f):
            try await shareDrop(table: nil)
            match = { $0.fingerprint == f }
        case .pattern(let glob):
            try await shareDrop(table: nil)
            match = { a in a.tables.contains { fnmatch(glob, $0, 0) == 0 } || a.tags.contains { fnmatch(glob, $0, 0) == 0 } }
        }
        return try await runtime.gather { [$0.cache.removeAll(where: match)] }.get().reduce(0, +)
    }
}
