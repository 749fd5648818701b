// Cancel requests for the query a server runs, and holding the server back until PostgreSQL is done with them.
import NIOCore

extension ServerConnection {
    /// A client asked to cancel its query: forwarded only while this server still runs that client's request.
    func forwardCancel(for client: ClientConnection) {
        eventLoop.preconditionInEventLoop()
        guard case .linked(let link) = state, link.client === client else { return }
        cancelsInFlight += 1
        let loop = eventLoop
        runtime.cancelRegistry.sendCancel(host: address.host, port: address.port, pid: backendPID, secret: backendSecret, on: loop,
                                          wait: runtime.settings.cancelWaitTimeout) { [self] in
            loop.execute { self.cancelFinished() }
        }
    }

    func cancelFinished() {
        cancelsInFlight -= 1
        guard cancelsInFlight == 0, !afterCancels.isEmpty else { return }
        let waiting = afterCancels
        afterCancels = []
        for go in waiting { go() }
    }

    /// Runs `go` (giving the server back) once no cancel sent to it is still on its way.
    func whenCancelsDone(_ go: @escaping () -> Void) {
        if cancelsInFlight == 0 { go() } else { afterCancels.append(go) }
    }
}
