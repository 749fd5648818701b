// ServerLoginMachine fed BackendMessage sequences: trust, cleartext, md5, SCRAM (against PGWire's SCRAMServer), errors.
import NIOCore
import PGWire
import Testing

@testable import PoolCore

/// What one received message must make the machine do (its Action is not Equatable).
enum LoginExpectation: Sendable, CustomStringConvertible {
    case wait
    case send(FrontendMessage)
    case ready(parameters: [String: String], processID: Int32, secretKey: Int32)
    case fail(sqlState: String)

    var description: String {
        switch self {
        case .wait: "wait"
        case .send(let m): "send \(m)"
        case .ready(let p, let pid, let key): "ready \(p) pid \(pid) key \(key)"
        case .fail(let s): "fail \(s)"
        }
    }

    func matches(_ a: ServerLoginMachine.Action) -> Bool {
        switch (self, a) {
        case (.wait, .wait): true
        case (.send(let m), .send(let n)): m == n
        case (.ready(let p, let pid, let key), .ready(let q, let qpid, let qkey)): p == q && pid == qpid && key == qkey
        case (.fail(let s), .fail(let e)): s == e.sqlState
        default: false
        }
    }
}

func cstringBuffer(_ s: String) -> ByteBuffer {
    var b = ByteBuffer()
    b.writeNullTerminatedString(s)
    return b
}

func errorResponse(_ sqlState: String?, _ message: String) -> BackendMessage {
    var fields: [(code: UInt8, value: String)] = [(UInt8(ascii: "S"), "FATAL"), (UInt8(ascii: "V"), "FATAL")]
    if let sqlState { fields.append((UInt8(ascii: "C"), sqlState)) }
    fields.append((UInt8(ascii: "M"), message))
    return .errorResponse(ErrorFields(fields))
}

/// The messages a server sends after AuthenticationOk.
let loginTail: [(BackendMessage, LoginExpectation)] = [
    (.parameterStatus(name: "server_version", value: "16.3"), .wait),
    (.parameterStatus(name: "client_encoding", value: "UTF8"), .wait),
    (.noticeResponse(ErrorFields([(UInt8(ascii: "S"), "NOTICE"), (UInt8(ascii: "M"), "hello")])), .wait),
    (.parameterStatus(name: "server_version", value: "16.4"), .wait),
    (.backendKeyData(processID: 4242, secretKey: -17), .wait),
    (.readyForQuery(.idle), .ready(parameters: ["server_version": "16.4", "client_encoding": "UTF8"], processID: 4242, secretKey: -17)),
]

@Suite("ServerLoginMachine")
struct ServerLoginMachineTests {
    /// Feeds each message and checks the machine's answer.
    static func feed(_ m: inout ServerLoginMachine, _ steps: [(BackendMessage, LoginExpectation)],
                     sourceLocation: SourceLocation = #_sourceLocation) {
        for (i, (message, expected)) in steps.enumerated() {
            let action = m.receive(message)
            #expect(expected.matches(action), "step \(i + 1): \(message) gave \(action), expected \(expected)", sourceLocation: sourceLocation)
        }
    }

    @Test("trust: AuthenticationOk, ParameterStatus, BackendKeyData, ReadyForQuery give ready with those values")
    func trustLogin() {
        var m = ServerLoginMachine(user: "alice", credential: .none)
        Self.feed(&m, [(.authentication(.ok), .wait)] + loginTail)
        #expect(m.parameters == ["server_version": "16.4", "client_encoding": "UTF8"])
    }

    @Test("NegotiateProtocolVersion and notices before authentication are passed over")
    func negotiateFirst() {
        var m = ServerLoginMachine(user: "alice", credential: .none)
        Self.feed(&m, [
            (.negotiateProtocolVersion(newestVersion: 0x0003_0000, unrecognizedOptions: ["_pq_.x"]), .wait),
            (.noticeResponse(ErrorFields([(UInt8(ascii: "M"), "n")])), .wait),
            (.authentication(.ok), .wait),
        ] + loginTail)
    }

    @Test("cleartext password request is answered with the password")
    func cleartext() {
        var m = ServerLoginMachine(user: "alice", credential: .password("s3cret"))
        Self.feed(&m, [
            (.authentication(.cleartextPassword), .send(.authenticationResponse(cstringBuffer("s3cret")))),
            (.authentication(.ok), .wait),
        ] + loginTail)
    }

    @Test("md5 request is answered with md5(md5(password + user) + salt)", arguments: [
        ServerCredential.password("pw"), ServerCredential.md5Secret(MD5Auth.secret(user: "alice", password: "pw")),
    ])
    func md5(credential: ServerCredential) {
        let salt: UInt32 = 0x0102_0304
        // Worked out independently of MD5Auth.response.
        let inner = CryptoPrimitives.hex(CryptoPrimitives.md5(Array("pwalice".utf8)))
        let expected = "md5" + CryptoPrimitives.hex(CryptoPrimitives.md5(Array(inner.utf8) + [1, 2, 3, 4]))
        var m = ServerLoginMachine(user: "alice", credential: credential)
        Self.feed(&m, [
            (.authentication(.md5Password(salt: salt)), .send(.authenticationResponse(cstringBuffer(expected)))),
            (.authentication(.ok), .wait),
        ] + loginTail)
    }

    /// The client-first message inside a SASLInitialResponse body, checking the mechanism and length.
    static func clientFirst(of body: ByteBuffer, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        var b = body
        let mechanism = b.readNullTerminatedString()
        #expect(mechanism == "SCRAM-SHA-256", sourceLocation: sourceLocation)
        let rawLength = b.readInteger(as: Int32.self)
        let length = try #require(rawLength.map(Int.init), sourceLocation: sourceLocation)
        let text = b.readString(length: length)
        #expect(b.readableBytes == 0, sourceLocation: sourceLocation)
        return try #require(text, sourceLocation: sourceLocation)
    }

    /// Drives a SASL login against PGWire's SCRAMServer holding `verifier`.
    /// Returns the machine's action for the server's SASLFinal (nil if the exchange stopped earlier).
    static func scramLogin(_ m: inout ServerLoginMachine, verifier: SCRAMSecret, mechanisms: [String] = ["SCRAM-SHA-256"],
                           serverNonce: String = "c2VydmVyLW5vbmNl") throws -> ServerLoginMachine.Action? {
        var server = SCRAMServer(secret: verifier, serverNonce: serverNonce)
        guard case .send(.authenticationResponse(let initial)) = m.receive(.authentication(.sasl(mechanisms: mechanisms))) else {
            Issue.record("expected a SASLInitialResponse")
            return nil
        }
        let clientFirst = try Self.clientFirst(of: initial)
        #expect(clientFirst.hasPrefix("n,,"))

        let serverFirst = try server.receiveClientFirst(clientFirst)
        guard case .send(.authenticationResponse(let finalBuffer)) = m.receive(.authentication(.saslContinue(ByteBuffer(string: serverFirst)))) else {
            Issue.record("expected a SASLResponse")
            return nil
        }
        let (serverFinal, _) = try server.receiveClientFinal(String(buffer: finalBuffer), user: "alice")
        return m.receive(.authentication(.saslFinal(ByteBuffer(string: serverFinal))))
    }

    @Test("SCRAM with a password, against a real SCRAM server, through to ready")
    func scramWithPassword() throws {
        var m = ServerLoginMachine(user: "alice", credential: .password("pw"))
        let afterFinal = try Self.scramLogin(&m, verifier: aliceSCRAM, mechanisms: ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"])
        #expect(afterFinal.map(LoginExpectation.wait.matches) == true, "\(String(describing: afterFinal))")
        Self.feed(&m, [(.authentication(.ok), .wait)] + loginTail)
    }

    @Test("SCRAM pass-through with the client's keys, through to ready")
    func scramPassThrough() throws {
        var m = ServerLoginMachine(user: "alice", credential: .scramKeys(aliceKeys))
        let afterFinal = try Self.scramLogin(&m, verifier: aliceSCRAM)
        #expect(afterFinal.map(LoginExpectation.wait.matches) == true, "\(String(describing: afterFinal))")
        Self.feed(&m, [(.authentication(.ok), .wait)] + loginTail)
    }

    @Test("SCRAM keys for another salt are refused by the server, and its 28P01 fails the login")
    func scramPassThroughWrongSalt() throws {
        let otherKeys = SCRAMKeys(password: "pw", salt: Array("another-salt-123".utf8), iterations: 4096)
        var m = ServerLoginMachine(user: "alice", credential: .scramKeys(otherKeys))
        do {
            _ = try Self.scramLogin(&m, verifier: aliceSCRAM)
            Issue.record("the SCRAM server accepted keys for another salt")
        } catch {
            #expect(error as? PGError == .invalidPassword("alice"))
        }
        Self.feed(&m, [(errorResponse("28P01", "password authentication failed for user \"alice\""), .fail(sqlState: "28P01"))])
    }

    @Test("a server that cannot prove it knows the verifier is not trusted")
    func scramBadServerSignature() throws {
        var m = ServerLoginMachine(user: "alice", credential: .password("pw"))
        guard case .send(.authenticationResponse(let initial)) = m.receive(.authentication(.sasl(mechanisms: ["SCRAM-SHA-256"]))) else {
            Issue.record("expected a SASLInitialResponse")
            return
        }
        let clientFirst = try Self.clientFirst(of: initial)
        var server = SCRAMServer(secret: aliceSCRAM)
        let serverFirst = try server.receiveClientFirst(clientFirst)
        _ = m.receive(.authentication(.saslContinue(ByteBuffer(string: serverFirst))))
        let forged = "v=" + Base64.encode([UInt8](repeating: 0, count: 32))
        Self.feed(&m, [(.authentication(.saslFinal(ByteBuffer(string: forged))), .fail(sqlState: "08006"))])
    }

    @Test("a server that skips SASLFinal and says Ok is not trusted")
    func scramSkippedFinal() throws {
        // Straight after the mechanism list.
        var m = ServerLoginMachine(user: "alice", credential: .password("pw"))
        _ = m.receive(.authentication(.sasl(mechanisms: ["SCRAM-SHA-256"])))
        Self.feed(&m, [(.authentication(.ok), .fail(sqlState: "08006"))])

        // After the client's proof, instead of the server's own signature.
        var m2 = ServerLoginMachine(user: "alice", credential: .password("pw"))
        guard case .send(.authenticationResponse(let initial)) = m2.receive(.authentication(.sasl(mechanisms: ["SCRAM-SHA-256"]))) else {
            Issue.record("expected a SASLInitialResponse")
            return
        }
        let clientFirst = try Self.clientFirst(of: initial)
        var server = SCRAMServer(secret: aliceSCRAM)
        let serverFirst = try server.receiveClientFirst(clientFirst)
        guard case .send = m2.receive(.authentication(.saslContinue(ByteBuffer(string: serverFirst)))) else {
            Issue.record("expected a SASLResponse")
            return
        }
        Self.feed(&m2, [(.authentication(.ok), .fail(sqlState: "08006"))])
    }

    @Test("a malformed server-first message fails the login")
    func scramMalformedServerFirst() {
        var m = ServerLoginMachine(user: "alice", credential: .password("pw"))
        _ = m.receive(.authentication(.sasl(mechanisms: ["SCRAM-SHA-256"])))
        Self.feed(&m, [(.authentication(.saslContinue(ByteBuffer(string: "r=not-our-nonce,s=AAAA,i=4096"))), .fail(sqlState: "08006"))])
    }

    // MARK: Server errors

    struct ErrorStage: Sendable, CustomTestStringConvertible {
        var name: String
        var credential: ServerCredential
        var before: [BackendMessage]
        var testDescription: String { name }
    }

    static let errorStages: [ErrorStage] = [
        ErrorStage(name: "at once", credential: .none, before: []),
        ErrorStage(name: "after an md5 request", credential: .password("pw"), before: [.authentication(.md5Password(salt: 1))]),
        ErrorStage(name: "after a cleartext request", credential: .password("pw"), before: [.authentication(.cleartextPassword)]),
        ErrorStage(name: "after AuthenticationOk", credential: .none,
                   before: [.authentication(.ok), .parameterStatus(name: "a", value: "b")]),
        ErrorStage(name: "during SASL", credential: .password("pw"), before: [.authentication(.sasl(mechanisms: ["SCRAM-SHA-256"]))]),
    ]

    @Test("an ErrorResponse during login fails it with the server's SQLSTATE and message",
          arguments: errorStages, ["28P01", "3D000", "53300", "57P03"])
    func serverError(stage: ErrorStage, sqlState: String) {
        var m = ServerLoginMachine(user: "alice", credential: stage.credential)
        for message in stage.before {
            if case .fail(let e) = m.receive(message) { Issue.record("failed early: \(e)") }
        }
        guard case .fail(let e) = m.receive(errorResponse(sqlState, "the server says no")) else {
            Issue.record("expected a failure")
            return
        }
        #expect(e.sqlState == sqlState)
        #expect(e.severity == "FATAL")
        #expect(e.message.contains("the server says no"))
    }

    @Test("an ErrorResponse without a SQLSTATE fails with 08006")
    func serverErrorWithoutCode() {
        var m = ServerLoginMachine(user: "alice", credential: .none)
        Self.feed(&m, [(errorResponse(nil, "odd"), .fail(sqlState: "08006"))])
    }

    // MARK: Missing or unusable credentials

    struct MissingCase: Sendable, CustomTestStringConvertible {
        var credential: ServerCredential
        var request: AuthenticationRequest
        var method: String
        var testDescription: String { "\(credential) for \(request)" }
    }

    static let missingCases: [MissingCase] = [
        MissingCase(credential: .none, request: .cleartextPassword, method: "cleartext"),
        MissingCase(credential: .none, request: .md5Password(salt: 9), method: "md5"),
        MissingCase(credential: .none, request: .sasl(mechanisms: ["SCRAM-SHA-256"]), method: "SCRAM-SHA-256"),
        MissingCase(credential: .md5Secret("md5" + String(repeating: "a", count: 32)), request: .cleartextPassword, method: "cleartext"),
        MissingCase(credential: .md5Secret("md5" + String(repeating: "a", count: 32)), request: .sasl(mechanisms: ["SCRAM-SHA-256"]), method: "SCRAM-SHA-256"),
        MissingCase(credential: .scramKeys(aliceKeys), request: .cleartextPassword, method: "cleartext"),
        MissingCase(credential: .scramKeys(aliceKeys), request: .md5Password(salt: 9), method: "md5"),
    ]

    @Test("a request pgswift holds no usable credential for fails the login, naming the user and method", arguments: missingCases)
    func missingCredential(_ c: MissingCase) {
        var m = ServerLoginMachine(user: "alice", credential: c.credential)
        guard case .fail(let e) = m.receive(.authentication(c.request)) else {
            Issue.record("expected a failure")
            return
        }
        #expect(e.sqlState == "08006")
        #expect(e.message.contains("\"alice\""))
        #expect(e.message.contains(c.method))
    }

    @Test("unsupported authentication requests fail the login", arguments: [
        AuthenticationRequest.sasl(mechanisms: ["SCRAM-SHA-1"]), .kerberosV5, .gss, .sspi,
        .saslContinue(ByteBuffer(string: "r=x")), .saslFinal(ByteBuffer(string: "v=x")),
    ])
    func unsupportedRequest(_ request: AuthenticationRequest) {
        var m = ServerLoginMachine(user: "alice", credential: .password("pw"))
        Self.feed(&m, [(.authentication(request), .fail(sqlState: "08006"))])
    }

    @Test("messages out of place during login fail it", arguments: [
        BackendMessage.readyForQuery(.idle), .commandComplete(tag: "SELECT 1"), .dataRow([]),
    ])
    func unexpectedMessage(_ message: BackendMessage) {
        var m = ServerLoginMachine(user: "alice", credential: .none)
        Self.feed(&m, [(message, .fail(sqlState: "08006"))])
    }

    @Test("the startup packet names user and database first, then the parameters sorted by name")
    func startupPacket() {
        let p = ServerLoginMachine.startupPacket(user: "alice", database: "app",
                                                 parameters: ["timezone": "UTC", "application_name": "pgswift", "datestyle": "ISO"])
        #expect(p == .startup(major: 3, minor: 0, parameters: [
            StartupParameter(name: "user", value: "alice"),
            StartupParameter(name: "database", value: "app"),
            StartupParameter(name: "application_name", value: "pgswift"),
            StartupParameter(name: "datestyle", value: "ISO"),
            StartupParameter(name: "timezone", value: "UTC"),
        ]))
    }
}
