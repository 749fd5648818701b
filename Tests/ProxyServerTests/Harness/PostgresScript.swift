// PostgreSQL's side of a server connection's login, played on the channel pgswift opened, with real protocol bytes.
import NIOCore
import PGWire
import Testing

extension Peer {
    /// Checks the StartupMessage pgswift sent, asks for the password in clear and checks it (the userlist's), then
    /// welcomes with `parameters`, the backend's key and ReadyForQuery, all in one read.
    func acceptLogin(pid: Int32, secret: Int32, parameters: [(String, String)] = ProxyHarness.serverParameters,
                     sourceLocation: SourceLocation = #_sourceLocation) throws {
        var first = received()
        let startup = try WholeFrameReader.nextStartup(&first)
        let body = try #require(startup, "no StartupMessage", sourceLocation: sourceLocation)
        #expect(first.readableBytes == 0, "more than the StartupMessage", sourceLocation: sourceLocation)
        guard case .startup(3, 0, let params) = try StartupPacket.decode(body: body) else {
            Issue.record("expected a StartupMessage for protocol 3.0", sourceLocation: sourceLocation)
            return
        }
        let sent = Dictionary(params.map { ($0.name, $0.value) }) { _, last in last }
        #expect(sent == ["user": ProxyHarness.user, "database": ProxyHarness.serverDatabase, "application_name": "pgswift"],
                sourceLocation: sourceLocation)
        try send(Wire.bytes([BackendMessage.authentication(.cleartextPassword)]))
        var password = ByteBuffer(string: ProxyHarness.password)
        password.writeInteger(UInt8(0))
        expectBytes(received(), [FrontendMessage.authenticationResponse(password)], sourceLocation: sourceLocation)
        try send(Wire.bytes([.authentication(.ok)] + parameters.map { BackendMessage.parameterStatus(name: $0.0, value: $0.1) }
                            + [.backendKeyData(processID: pid, secretKey: secret), .readyForQuery(.idle)]))
    }
}
