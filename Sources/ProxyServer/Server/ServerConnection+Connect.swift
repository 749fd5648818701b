// How a server connection is opened: the hosts of its database's list tried in the order HostRotation gives.
import NIOCore
import PoolCore

extension ServerConnection {
    /// Opens a connection for `pool`, to the hosts of its list in the order HostRotation gives: one that refuses is
    /// marked down and the next is tried at once, so a host list fails a connect only when every host refused.
    static func connect(target: ServerTarget, pool: ServerPool, runtime: ProxyRuntime, on loop: EventLoop) {
        let conn = ServerConnection(id: runtime.nextID(), target: target, pool: pool, runtime: runtime, eventLoop: loop)
        conn.dial(pool.hostOrder()[...], failures: [])
    }

    private func dial(_ order: ArraySlice<Int>, failures: [String]) {
        guard let index = order.first, let pool else {
            releaseBudget()
            pool?.connectFailed(.serverUnreachable("could not connect to server " + failures.joined(separator: "; ")))
            return
        }
        let address = target.addresses[index]
        self.address = address
        let dial = Dial(host: address.host, port: address.port, connectTimeout: .milliseconds(Int64(max(target.connectTimeout, 0.1) * 1000)),
                        purpose: .session)
        let future = runtime.dialer.open(dial, eventLoop) { channel in
            channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(self) }
        }
        future.whenComplete { [self] result in
            switch result {
            case .success:
                pool.hostConnected(index, of: target)
                runtime.nodes.connected(address, now: runtime.now())
            case .failure(let error):
                pool.hostFailed(index, of: target)
                runtime.nodes.connectFailed(address, now: runtime.now())
                if order.count > 1 { runtime.logger.info("could not connect to server \(address): \(error); trying the next host") }
                self.dial(order.dropFirst(), failures: failures + ["\(address): \(error)"])
            }
        }
    }
}
