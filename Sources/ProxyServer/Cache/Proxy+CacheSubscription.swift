// Other instances' writes, heard through Redis: they move this instance's versions and drop what its loops kept.
import ResultCache

extension Proxy {
    func startCacheSubscription() {
        guard let remote = runtime.remoteCache else { return }
        let runtime = self.runtime
        remote.subscribe(on: runtime.loops[0], logger: runtime.logger, heard: { message in
            if let table = message.table {
                runtime.cacheVersions.wrote(scope: message.scope, tables: [table])
            } else {
                runtime.cacheVersions.wroteAnything(scope: message.scope)
            }
            _ = runtime.gather { registry in
                [registry.cache.removeAll { a in a.scope == message.scope && (message.table.map { a.tables.contains($0) } ?? true) }]
            }
        }, back: {
            // Whatever was missed while the subscription was down: the loops' tiers start empty, and so does the
            // shared generation.
            runtime.gather { [$0.cache.clear()] }.flatMap { _ in remote.newGeneration(now: runtime.now()) }
        })
    }
}

extension ProxyRuntime {
    /// A write pgswift itself found (DDL seen in the catalog): moved here and, through Redis, everywhere. On loop 0.
    func cacheWroteAnything(scope: String) {
        cacheVersions.wroteAnything(scope: scope)
        remoteCache?.wrote(loop: 0, scope: scope, tables: nil, now: now())
    }
}
