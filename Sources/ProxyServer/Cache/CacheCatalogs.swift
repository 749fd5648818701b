// Each cached database's catalog, read by pgswift's own session every few seconds and after DDL: the map writes
// follow (ResultCache's CatalogMap), and a signature whose change means DDL happened without pgswift seeing it.
import Config
import NIOConcurrencyHelpers
import ResultCache

final class CacheCatalogs: Sendable {
    struct Scope: Sendable {
        /// The [databases] entry that named it first, the PostgreSQL database and its hosts.
        var entry: String
        var dbname: String
        var addresses: [ServerAddress]
        var signature: String?
        var lastRead = -Double.infinity
        var running = false
        /// DDL went through pgswift: read again at the next tick, where a changed signature is no surprise.
        var soon = false
        var ddlSeen = false
        /// The host to try next (the one that last answered, or the next after a failure).
        var hostIndex = 0
    }

    private let scopes = NIOLockedValueBox<[String: Scope]>([:])

    /// A client of this scope logged in: its catalog is read from now on. True when the scope is new (read it now).
    func register(scope: String, entry: String, dbname: String, addresses: [ServerAddress]) -> Bool {
        scopes.withLockedValue { all in
            guard all[scope] == nil else { return false }
            all[scope] = Scope(entry: entry, dbname: dbname, addresses: addresses)
            return true
        }
    }

    /// The databases the cache has served.
    var names: [String] { scopes.withLockedValue { Array($0.keys) } }

    func readSoon(scope: String) {
        scopes.withLockedValue {
            $0[scope]?.soon = true
            $0[scope]?.ddlSeen = true
        }
    }

    /// The scopes whose read is due, marked as running.
    func due(now: Double, period: Double) -> [(scope: String, Scope)] {
        scopes.withLockedValue { all in
            var out: [(String, Scope)] = []
            for (name, var s) in all where !s.running && (s.soon || now - s.lastRead >= period) {
                s.running = true
                s.soon = false
                s.lastRead = now
                all[name] = s
                out.append((name, s))
            }
            return out
        }
    }

    /// A read ended: whether the signature differs from the last one read, and whether DDL through pgswift explains it.
    func ended(scope: String, signature: String?) -> (changed: Bool, seen: Bool) {
        scopes.withLockedValue { all in
            guard var s = all[scope] else { return (false, false) }
            s.running = false
            guard let signature else {
                s.hostIndex += 1
                all[scope] = s
                return (false, false)
            }
            let changed = s.signature != nil && s.signature != signature
            let seen = s.ddlSeen
            s.signature = signature
            s.ddlSeen = false
            all[scope] = s
            return (changed, seen)
        }
    }
}

extension ProxyRuntime {
    /// Reads the catalogs that are due (called every second by the janitor).
    func checkCacheCatalogs() {
        let now = self.now()
        for (scope, s) in cacheCatalogs.due(now: now, period: settings.cacheCatalogPeriod) {
            guard !s.addresses.isEmpty, let entry = config.database(named: s.entry), let login = checkLogin(database: s.entry, entry: entry) else {
                _ = cacheCatalogs.ended(scope: scope, signature: nil)
                continue
            }
            let address = s.addresses[s.hostIndex % s.addresses.count]
            let timeout = settings.healthCheckTimeout
            runNodeSQL(address, database: s.dbname, user: login.user, credential: login.credential, purpose: "pgswift cache catalog",
                       statements: [CatalogMap.sql, CatalogMap.signatureSQL], timeout: timeout,
                       timeoutMessage: "no answer within health_check_timeout (\(timeout)s)") { [self] result in
                guard case .success(let rows) = result, rows.count == 2, let text = rows[0]?.first ?? nil, let signature = rows[1]?.first ?? nil else {
                    switch result {
                    case .failure(let why): logger.info("cache catalog read of \(address)/\(s.dbname) failed: \(why)")
                    case .success(let rows): logger.info("cache catalog read of \(address)/\(s.dbname): unexpected answer (\(rows.count) statements answered)")
                    }
                    _ = cacheCatalogs.ended(scope: scope, signature: nil)
                    return
                }
                let map = CatalogMap(parsing: text)
                let (changed, seen) = cacheCatalogs.ended(scope: scope, signature: signature)
                if changed {
                    // DDL: nothing kept for this database may still be what a read returns. Dropped even after DDL
                    // pgswift saw, as DDL made elsewhere meanwhile would change the signature the same way.
                    if !seen { logger.info("cache: the catalog of \(s.dbname) changed without pgswift seeing the DDL; its cached answers are dropped") }
                    cacheWroteAnything(scope: scope)
                    _ = gather { [$0.cache.removeAll { $0.scope == scope }] }
                }
                for i in loops.indices {
                    let registry = connections(at: i)
                    loops[i].execute { registry.cache.catalogs[scope] = map }
                }
            }
        }
    }
}
