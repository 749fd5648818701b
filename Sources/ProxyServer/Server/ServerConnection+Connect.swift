// How a server connection is opened: the hosts of its database's list tried in the order HostRotation gives.
import NIOCore
import PGWire
import PoolCore

extension ServerConnection {
    /// Opens a connection for `pool`, to the hosts of its list in the order HostRotation gives: one that refuses is
    /// marked down and the next is tried at once, so a host list fails a connect only when every host refused.
    static func connect(target: ServerTarget, pool: ServerPool, runtime: ProxyRuntime, on loop: EventLoop) {
        let conn = ServerConnection(id: runtime.nextID(), target: target, pool: pool, runtime: runtime, eventLoop: loop)
        let order = pool.hostOrder(for: target)
        guard !order.isEmpty else {
            conn.releaseBudget()
            pool.connectFailed(.serverUnreachable("every host of database \(pool.key.database) is drained or fenced (SHOW NODES; UNDRAIN NODE lifts either)"))
            return
        }
        conn.dial(order[...], failures: [])
    }

    private func dial(_ order: ArraySlice<Int>, failures: [String]) {
        guard let index = order.first, let pool else {
            releaseBudget()
            pool?.connectFailed(.serverUnreachable("could not connect to server " + failures.joined(separator: "; ")))
            return
        }
        hostIndex = index
        let address = self.address
        let dial = Dial(host: address.host, port: address.port, connectTimeout: .milliseconds(Int64(max(target.connectTimeout, 0.1) * 1000)),
                        purpose: .session)
        let future = runtime.dialer.open(dial, eventLoop) { channel in
            channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(self) }
        }
        future.whenComplete { [self] result in
            switch result {
            case .success:
                // The host counts as working once the login is through (ServerConnection+Login).
                break
            case .failure(let error):
                pool.hostFailed(index, of: target)
                runtime.nodes.connectFailed(address, now: runtime.now())
                if order.count > 1 { runtime.logger.info("could not connect to server \(address): \(error); trying the next host") }
                self.dial(order.dropFirst(), failures: failures + ["\(address): \(error)"])
            }
        }
    }

    /// The login went through: the host works (HostRotation, its circuit).
    func hostLoggedIn() {
        pool?.hostConnected(hostIndex, of: target)
        runtime.nodes.connected(address, now: runtime.now())
        // PostgreSQL 14+ says at login whether it is a standby: a host whose role differs from its last check's (a
        // promotion or demotion since) is checked again now rather than a health_check_period later.
        if let standby = session.parameters["in_hot_standby"], runtime.nodes.roleDiffers(address, standby: standby == "on") {
            runtime.logger.info("\(address) reports in_hot_standby = \(standby) at login: checking its role now")
            runtime.nodes.checkSoon(address)
        }
    }

    /// The login failed. When the node itself refused (starting up or shutting down, 57P0x; too many connections,
    /// 53300; gone during login, 08xxx) the host is marked as a refused connect would be; a refused password is
    /// the credential's fault, not the host's.
    func hostRefusedLogin(_ error: PGError) {
        let state = error.sqlState
        guard state.hasPrefix("57P") || state == "53300" || state.hasPrefix("08") else { return }
        pool?.hostFailed(hostIndex, of: target)
        runtime.nodes.connectFailed(address, now: runtime.now())
    }
}
