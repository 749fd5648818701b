// ClientAuthMachine: trust, plain, md5 and SCRAM-SHA-256 (driven by PGWire's SCRAMClient), wrong and malformed answers.
import NIOCore
import PGWire
import Testing

@testable import PoolCore

/// Test inputs: a 'p' message body carrying a NUL-terminated password.
func passwordMessage(_ s: String) -> ByteBuffer {
    var b = ByteBuffer()
    b.writeNullTerminatedString(s)
    return b
}

/// Test inputs: a SASLInitialResponse body.
func saslInitialResponse(_ data: String, mechanism: String = "SCRAM-SHA-256") -> ByteBuffer {
    var b = ByteBuffer()
    b.writeNullTerminatedString(mechanism)
    b.writeInteger(Int32(data.utf8.count))
    b.writeString(data)
    return b
}

/// A fixed SCRAM verifier for user alice, password "pw" (4096 iterations, as PostgreSQL's default).
let aliceSalt: [UInt8] = Array("pgswift-test-slt".utf8)
let aliceSCRAM = SCRAMSecret(password: "pw", salt: aliceSalt, iterations: 4096)
let aliceKeys = SCRAMKeys(password: "pw", salt: aliceSalt, iterations: 4096)

@Suite("ClientAuthMachine")
struct ClientAuthMachineTests {
    static let salt: UInt32 = 0x5A5A_0102
    static let md5Secret = MD5Auth.secret(user: "alice", password: "pw")

    // MARK: trust, any, reject

    @Test("trust and any authenticate at once, passing on a plain password if there is one")
    func trust() {
        var m = ClientAuthMachine(user: "alice", method: .trust, secret: nil)
        #expect(m.start() == .authenticated(scramKeys: nil, password: nil))
        var any = ClientAuthMachine(user: "alice", method: .any, secret: .plain("pw"))
        #expect(any.start() == .authenticated(scramKeys: nil, password: "pw"))
        // Nothing more is expected from the client.
        #expect(m.receive(passwordMessage("pw")) == .fail(.protocolViolation("unexpected password message")))
    }

    @Test("reject refuses with 28000")
    func reject() {
        var m = ClientAuthMachine(user: "alice", method: .reject, secret: .plain("pw"))
        guard case .fail(let e) = m.start() else { Issue.record("expected a failure"); return }
        #expect(e.sqlState == "28000")
        #expect(e.severity == "FATAL")
    }

    // MARK: Password exchanges

    struct PasswordCase: Sendable, CustomTestStringConvertible {
        var name: String
        var method: ClientAuthMethod
        var secret: ClientSecret?
        /// What the client sends, given the salt of the request.
        var answer: @Sendable (UInt32) -> String
        var expected: ClientAuthMachine.Action
        var testDescription: String { name }
    }

    static let wrong = ClientAuthMachine.Action.fail(.invalidPassword("alice"))

    static let passwordCases: [PasswordCase] = [
        // Cleartext password.
        PasswordCase(name: "plain: right password, plain secret", method: .plain, secret: .plain("pw"),
                     answer: { _ in "pw" }, expected: .authenticated(scramKeys: nil, password: "pw")),
        PasswordCase(name: "plain: wrong password, plain secret", method: .plain, secret: .plain("pw"),
                     answer: { _ in "pw2" }, expected: wrong),
        PasswordCase(name: "plain: empty password", method: .plain, secret: .plain("pw"),
                     answer: { _ in "" }, expected: wrong),
        PasswordCase(name: "plain: right password, md5 secret", method: .plain, secret: .md5(md5Secret),
                     answer: { _ in "pw" }, expected: .authenticated(scramKeys: nil, password: "pw")),
        PasswordCase(name: "plain: wrong password, md5 secret", method: .plain, secret: .md5(md5Secret),
                     answer: { _ in "nope" }, expected: wrong),
        PasswordCase(name: "plain: right password, SCRAM secret", method: .plain, secret: .scram(aliceSCRAM),
                     answer: { _ in "pw" }, expected: .authenticated(scramKeys: nil, password: "pw")),
        PasswordCase(name: "plain: wrong password, SCRAM secret", method: .plain, secret: .scram(aliceSCRAM),
                     answer: { _ in "pW" }, expected: wrong),
        PasswordCase(name: "plain: unknown user", method: .plain, secret: nil,
                     answer: { _ in "pw" }, expected: wrong),
        // MD5 challenge: the client answers md5(md5(password + user) + salt).
        PasswordCase(name: "md5: right answer, plain secret", method: .md5, secret: .plain("pw"),
                     answer: { MD5Auth.response(secret: MD5Auth.secret(user: "alice", password: "pw"), salt: $0) },
                     expected: .authenticated(scramKeys: nil, password: "pw")),
        PasswordCase(name: "md5: right answer, md5 secret", method: .md5, secret: .md5(md5Secret),
                     answer: { MD5Auth.response(secret: MD5Auth.secret(user: "alice", password: "pw"), salt: $0) },
                     expected: .authenticated(scramKeys: nil, password: nil)),
        PasswordCase(name: "md5: wrong password, plain secret", method: .md5, secret: .plain("pw"),
                     answer: { MD5Auth.response(secret: MD5Auth.secret(user: "alice", password: "px"), salt: $0) },
                     expected: wrong),
        PasswordCase(name: "md5: wrong password, md5 secret", method: .md5, secret: .md5(md5Secret),
                     answer: { MD5Auth.response(secret: MD5Auth.secret(user: "alice", password: "px"), salt: $0) },
                     expected: wrong),
        PasswordCase(name: "md5: answer for another salt", method: .md5, secret: .md5(md5Secret),
                     answer: { MD5Auth.response(secret: MD5Auth.secret(user: "alice", password: "pw"), salt: $0 &+ 1) },
                     expected: wrong),
        PasswordCase(name: "md5: answer computed for another user", method: .md5, secret: .md5(md5Secret),
                     answer: { MD5Auth.response(secret: MD5Auth.secret(user: "bob", password: "pw"), salt: $0) },
                     expected: wrong),
        PasswordCase(name: "md5: the stored secret itself is not an answer", method: .md5, secret: .md5(md5Secret),
                     answer: { _ in md5Secret }, expected: wrong),
        PasswordCase(name: "md5: cleartext instead of the hash", method: .md5, secret: .plain("pw"),
                     answer: { _ in "pw" }, expected: wrong),
        PasswordCase(name: "md5: unknown user", method: .md5, secret: nil,
                     answer: { MD5Auth.response(secret: MD5Auth.secret(user: "alice", password: "pw"), salt: $0) },
                     expected: wrong),
    ]

    @Test("password exchanges", arguments: passwordCases)
    func passwordExchange(_ c: PasswordCase) {
        var m = ClientAuthMachine(user: "alice", method: c.method, secret: c.secret, salt: Self.salt)
        let request: AuthenticationRequest = c.method == .plain ? .cleartextPassword : .md5Password(salt: Self.salt)
        #expect(m.start() == .send(request))
        #expect(m.receive(passwordMessage(c.answer(Self.salt))) == c.expected)
        // One answer only.
        #expect(m.receive(passwordMessage("pw")) == .fail(.protocolViolation("unexpected password message")))
    }

    @Test("a password message without its terminating NUL is a protocol violation")
    func malformedPasswordMessage() {
        var m = ClientAuthMachine(user: "alice", method: .plain, secret: .plain("pw"))
        _ = m.start()
        guard case .fail(let e) = m.receive(ByteBuffer(string: "pw")) else { Issue.record("expected a failure"); return }
        #expect(e.sqlState == "08P01")
    }

    @Test("a message before the exchange starts is a protocol violation")
    func messageBeforeStart() {
        var m = ClientAuthMachine(user: "alice", method: .plain, secret: .plain("pw"))
        #expect(m.receive(passwordMessage("pw")) == .fail(.protocolViolation("unexpected password message")))
    }

    // MARK: SCRAM-SHA-256

    /// What a SCRAM exchange with a real SCRAMClient gave.
    struct SCRAMOutcome {
        var afterFirst: ClientAuthMachine.Action
        var afterFinal: ClientAuthMachine.Action?
        var client: SCRAMClient
    }

    /// Runs start, client-first and client-final through the machine with PGWire's SCRAM client.
    static func scram(_ m: inout ClientAuthMachine, password: String,
                      sourceLocation: SourceLocation = #_sourceLocation) throws -> SCRAMOutcome {
        #expect(m.start() == .send(.sasl(mechanisms: ["SCRAM-SHA-256"])), sourceLocation: sourceLocation)
        var client = SCRAMClient(credential: .password(password))
        let first = m.receive(saslInitialResponse(client.clientFirstMessage))
        guard case .send(.saslContinue(let serverFirst)) = first else {
            return SCRAMOutcome(afterFirst: first, afterFinal: nil, client: client)
        }
        let clientFinal = try client.receiveServerFirst(String(buffer: serverFirst))
        let final = m.receive(ByteBuffer(string: clientFinal))
        return SCRAMOutcome(afterFirst: first, afterFinal: final, client: client)
    }

    @Test("SCRAM against a stored verifier: the client is authenticated and its keys are kept for the server login")
    func scramWithStoredSecret() throws {
        var m = ClientAuthMachine(user: "alice", method: .scram, secret: .scram(aliceSCRAM))
        let outcome = try Self.scram(&m, password: "pw")
        guard case .send(.saslContinue(let serverFirst)) = outcome.afterFirst else {
            Issue.record("expected SASLContinue, got \(outcome.afterFirst)")
            return
        }
        // The server-first message carries the verifier's salt and iteration count.
        let text = String(buffer: serverFirst)
        #expect(text.contains(",s=\(Base64.encode(aliceSalt)),i=4096"))

        guard case .sendThenAuthenticated(.saslFinal(let serverFinal), let keys, let password)? = outcome.afterFinal else {
            Issue.record("expected SASLFinal then authenticated, got \(String(describing: outcome.afterFinal))")
            return
        }
        #expect(keys == aliceKeys)
        #expect(password == nil)
        // The server's signature verifies on the client side.
        try outcome.client.receiveServerFinal(String(buffer: serverFinal))
        // The exchange is over.
        #expect(m.receive(ByteBuffer(string: "again")) == .fail(.protocolViolation("unexpected password message")))
    }

    @Test("md5 with a SCRAM verifier upgrades to SCRAM, as PostgreSQL does")
    func md5UpgradesToSCRAM() throws {
        var m = ClientAuthMachine(user: "alice", method: .md5, secret: .scram(aliceSCRAM))
        let outcome = try Self.scram(&m, password: "pw")
        guard case .sendThenAuthenticated(.saslFinal, let keys, let password)? = outcome.afterFinal else {
            Issue.record("expected SASLFinal then authenticated, got \(String(describing: outcome.afterFinal))")
            return
        }
        #expect(keys == aliceKeys)
        #expect(password == nil)
    }

    @Test("SCRAM with a plain secret authenticates and passes the password on instead of keys")
    func scramWithPlainSecret() throws {
        var m = ClientAuthMachine(user: "alice", method: .scram, secret: .plain("pw"))
        let outcome = try Self.scram(&m, password: "pw")
        guard case .sendThenAuthenticated(.saslFinal(let serverFinal), let keys, let password)? = outcome.afterFinal else {
            Issue.record("expected SASLFinal then authenticated, got \(String(describing: outcome.afterFinal))")
            return
        }
        #expect(keys == nil)
        #expect(password == "pw")
        try outcome.client.receiveServerFinal(String(buffer: serverFinal))
    }

    @Test("SCRAM with a wrong password fails with 28P01 at the final message", arguments: [
        ClientSecret.scram(aliceSCRAM), ClientSecret.plain("pw"),
    ])
    func scramWrongPassword(secret: ClientSecret) throws {
        var m = ClientAuthMachine(user: "alice", method: .scram, secret: secret)
        let outcome = try Self.scram(&m, password: "not-pw")
        guard case .send(.saslContinue) = outcome.afterFirst else {
            Issue.record("the first step must not give the answer away: \(outcome.afterFirst)")
            return
        }
        #expect(outcome.afterFinal == .fail(.invalidPassword("alice")))
    }

    @Test("SCRAM for a user without a usable verifier runs the whole exchange, then fails with 28P01", arguments: [
        ClientSecret?.none, ClientSecret.md5(md5Secret),
    ])
    func scramUnknownUser(secret: ClientSecret?) throws {
        var m = ClientAuthMachine(user: "ghost", method: .scram, secret: secret)
        let outcome = try Self.scram(&m, password: "pw")
        // Indistinguishable from a known user until the end.
        guard case .send(.saslContinue(let serverFirst)) = outcome.afterFirst else {
            Issue.record("expected SASLContinue, got \(outcome.afterFirst)")
            return
        }
        #expect(String(buffer: serverFirst).contains(",i=4096"))
        #expect(outcome.afterFinal == .fail(.invalidPassword("ghost")))
    }

    // MARK: Malformed SASL

    struct MalformedInitial: Sendable, CustomTestStringConvertible {
        var name: String
        var bytes: [UInt8]
        var sqlState: String
        var testDescription: String { name }
    }

    static func initialBytes(_ mechanism: String, length: Int32?, _ data: String) -> [UInt8] {
        var b = Array(mechanism.utf8) + [0]
        if let length { withUnsafeBytes(of: length.bigEndian) { b += $0 } }
        return b + Array(data.utf8)
    }

    static let malformedInitials: [MalformedInitial] = [
        MalformedInitial(name: "empty message", bytes: [], sqlState: "08P01"),
        MalformedInitial(name: "mechanism without NUL", bytes: Array("SCRAM-SHA-256".utf8), sqlState: "08P01"),
        MalformedInitial(name: "no length", bytes: initialBytes("SCRAM-SHA-256", length: nil, ""), sqlState: "08P01"),
        MalformedInitial(name: "length beyond the message", bytes: initialBytes("SCRAM-SHA-256", length: 100, "n,,n=,r=abc"), sqlState: "08P01"),
        MalformedInitial(name: "negative length", bytes: initialBytes("SCRAM-SHA-256", length: -1, ""), sqlState: "08P01"),
        MalformedInitial(name: "unsupported mechanism", bytes: initialBytes("SCRAM-SHA-1", length: 11, "n,,n=,r=abc"), sqlState: "08P01"),
        MalformedInitial(name: "-PLUS mechanism not offered", bytes: initialBytes("SCRAM-SHA-256-PLUS", length: 11, "n,,n=,r=abc"), sqlState: "08P01"),
        MalformedInitial(name: "client-first not in three parts", bytes: initialBytes("SCRAM-SHA-256", length: 7, "garbage"), sqlState: "08P01"),
        MalformedInitial(name: "bad GS2 header", bytes: initialBytes("SCRAM-SHA-256", length: 11, "x,,n=,r=abc"), sqlState: "08P01"),
        MalformedInitial(name: "no nonce", bytes: initialBytes("SCRAM-SHA-256", length: 5, "n,,n="), sqlState: "08P01"),
        MalformedInitial(name: "empty nonce", bytes: initialBytes("SCRAM-SHA-256", length: 8, "n,,n=,r="), sqlState: "08P01"),
        MalformedInitial(name: "channel binding asked for", bytes: initialBytes("SCRAM-SHA-256", length: 32, "p=tls-server-end-point,,n=,r=abc"), sqlState: "0A000"),
        MalformedInitial(name: "authorization identity", bytes: initialBytes("SCRAM-SHA-256", length: 16, "n,a=bob,n=,r=abc"), sqlState: "0A000"),
    ]

    @Test("a malformed SASLInitialResponse fails the login", arguments: malformedInitials)
    func malformedInitial(_ c: MalformedInitial) {
        var m = ClientAuthMachine(user: "alice", method: .scram, secret: .scram(aliceSCRAM))
        _ = m.start()
        guard case .fail(let e) = m.receive(ByteBuffer(bytes: c.bytes)) else {
            Issue.record("expected a failure")
            return
        }
        #expect(e.sqlState == c.sqlState, "\(e)")
        // Nothing more is accepted.
        #expect(m.receive(ByteBuffer(string: "c=biws,r=abc,p=AAAA")) == .fail(.protocolViolation("unexpected password message")))
    }

    enum FinalDefect: String, CaseIterable, Sendable {
        case noProof, proofNotLast, nonceMismatch, badChannelBinding, proofNotBase64, shortProof, empty
    }

    @Test("a malformed SASLResponse is a protocol violation", arguments: FinalDefect.allCases)
    func malformedFinal(_ defect: FinalDefect) throws {
        var m = ClientAuthMachine(user: "alice", method: .scram, secret: .scram(aliceSCRAM))
        _ = m.start()
        guard case .send(.saslContinue(let serverFirst)) = m.receive(saslInitialResponse("n,,n=,r=clientnonce")) else {
            Issue.record("expected SASLContinue")
            return
        }
        let nonce = try #require(String(buffer: serverFirst).split(separator: ",").first { $0.hasPrefix("r=") }?.dropFirst(2))
        let proof = Base64.encode([UInt8](repeating: 7, count: 32))
        let text: String
        switch defect {
        case .noProof: text = "c=biws,r=\(nonce)"
        case .proofNotLast: text = "c=biws,p=\(proof),r=\(nonce)"
        case .nonceMismatch: text = "c=biws,r=clientnonceXYZ,p=\(proof)"
        case .badChannelBinding: text = "c=eXws,r=\(nonce),p=\(proof)"
        case .proofNotBase64: text = "c=biws,r=\(nonce),p=!!!!"
        case .shortProof: text = "c=biws,r=\(nonce),p=\(Base64.encode([1, 2, 3]))"
        case .empty: text = ""
        }
        guard case .fail(let e) = m.receive(ByteBuffer(string: text)) else {
            Issue.record("expected a failure")
            return
        }
        #expect(e.sqlState == "08P01", "\(e)")
    }
}
