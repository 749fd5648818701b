// What the console's control commands do to the running proxy: pause, disable, close connections, reload, shut down.
import AdminConsole
import Config
import PGWire

extension RuntimeConsole {
    func setPaused(_ on: Bool) { runtime.setPaused(on) }

    func setPaused(_ on: Bool, database: String) -> Bool { runtime.databases.setPaused(database, on) }

    func setDisabled(_ on: Bool, database: String) { runtime.databases.setDisabled(database, on) }

    func kill(databases: Set<String>, reason: PGError) async throws {
        _ = try await runtime.gather { registry -> [Int] in
            let clients = registry.clients.values.filter { $0.statsKey.map { databases.contains($0.database) } ?? false }
            for c in clients { c.sendFatal(reason) }
            for s in registry.servers.values where s.pool.map({ databases.contains($0.key.database) }) ?? false { s.close() }
            return []
        }.get()
    }

    func killClient(id: Int, reason: PGError) async throws -> Bool {
        let found = try await runtime.gather { registry -> [Int] in
            guard let client = registry.clients[id] else { return [] }
            client.sendFatal(reason)
            return [id]
        }.get()
        return !found.isEmpty
    }

    func reconnect(database: String?) async throws {
        let pools = runtime.allPools.filter { database == nil || $0.key.database == database }
        for p in pools { p.closeIdle() }
        // Servers in use close when their client gives them back.
        _ = try await runtime.gather { registry -> [Int] in
            for s in registry.servers.values where database == nil || s.pool?.key.database == database { s.closeNeeded = true }
            return []
        }.get()
        // Again: a server given back while the loops were being visited went to the pool unmarked.
        for p in pools { p.closeIdle() }
    }

    func setDrained(_ on: Bool, database: String, host: String, port: Int) async throws -> Bool {
        let address = ServerAddress(host: host, port: port)
        guard ProxyRuntime.hostLists(runtime.config).contains(where: { $0.name == database && $0.addresses.contains(address) }) else {
            return false
        }
        runtime.nodes.setDrained(on, database: database, address: address)
        guard on else {
            runtime.nodes.unfence(database: database, address: address)
            return true
        }
        try await runtime.retireServers(on: address, database: database)
        return true
    }

    func reload() -> Bool { runtime.control?.reload() ?? false }

    func shutdown(_ mode: ShutdownMode) -> Bool {
        guard let control = runtime.control else { return false }
        control.shutdown(mode)
        return true
    }

    func set(_ key: String, to value: String) -> Result<Void, ConfigMessage> { runtime.changeSetting(key, to: value) }
}
