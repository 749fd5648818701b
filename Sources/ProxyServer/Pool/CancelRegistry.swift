// Maps the BackendKeyData pgswift gave each client to that client, and sends CancelRequests to servers.
import NIOConcurrencyHelpers
import NIOCore
import PGWire

/// A client that can be cancelled: it knows which server (if any) runs its query now.
protocol Cancellable: AnyObject, Sendable {
    func cancelRequested()
}

final class CancelRegistry: Sendable {
    /// Strong references, removed when the client finishes: a weak one would slow every retain of the
    /// client (the runtime keeps weakly referenced objects' counts in a side table).
    private struct Entry {
        var secret: Int32
        var client: any Cancellable
    }

    private let entries = NIOLockedValueBox<[Int32: Entry]>([:])
    private let dialer: ServerDialer

    init(dialer: ServerDialer) {
        self.dialer = dialer
    }

    func register(pid: Int32, secret: Int32, client: any Cancellable) {
        entries.withLockedValue { $0[pid] = Entry(secret: secret, client: client) }
    }

    func unregister(pid: Int32) {
        _ = entries.withLockedValue { $0.removeValue(forKey: pid) }
    }

    /// A CancelRequest arrived; anything not matching a live client's key exactly is dropped silently.
    func cancel(pid: Int32, secret: Int32) -> Bool {
        let client = entries.withLockedValue { e -> (any Cancellable)? in
            guard let entry = e[pid], entry.secret == secret else { return nil }
            return entry.client
        }
        client?.cancelRequested()
        return client != nil
    }

    /// Opens a fresh connection to the server and sends its own key, as PostgreSQL expects. `done` runs once
    /// PostgreSQL has closed that connection, which it does after signalling the backend (twice: the process and
    /// its group), or after `wait` seconds at most: until then the backend may still receive the cancel.
    func sendCancel(host: String, port: Int, pid: Int32, secret: Int32, on loop: EventLoop, wait: Double = 10,
                    done: (@Sendable () -> Void)? = nil) {
        guard pid != 0 else {
            done?()
            return
        }
        var buffer = ByteBuffer()
        StartupPacket.cancel(processID: pid, secretKey: secret).encode(into: &buffer)
        let packet = buffer
        let future = dialer.open(Dial(host: host, port: port, connectTimeout: .seconds(5), purpose: .cancel), loop, nil)
        future.whenFailure { _ in done?() }
        future.whenSuccess { channel in
            channel.closeFuture.whenComplete { _ in done?() }
            channel.writeAndFlush(packet, promise: nil)
            let limit = wait > 0 ? wait : 10
            loop.scheduleTask(in: .milliseconds(Int64(limit * 1000))) { channel.close(promise: nil) }
        }
    }
}
