// Authenticates one client (trust, plain, md5, SCRAM-SHA-256) against its stored secret. No I/O.
import NIOCore
import PGWire

/// How a client must prove who it is.
public enum ClientAuthMethod: String, Sendable {
    case trust, any, plain, md5
    case scram = "scram-sha-256"
    case reject
}

/// A user's secret as pgswift holds it (from auth_file or auth_query).
public enum ClientSecret: Sendable, Equatable {
    case plain(String)
    case md5(String)
    case scram(SCRAMSecret)
}

public struct ClientAuthMachine: Sendable {
    public enum Action: Equatable, Sendable {
        case send(AuthenticationRequest)
        /// Authentication succeeded. `scramKeys` are set when the client proved itself with SCRAM
        /// against a stored verifier: they let pgswift log in to the server as that user.
        case authenticated(scramKeys: SCRAMKeys?, password: String?)
        /// SASL's last step: send this request, then treat the client as authenticated.
        case sendThenAuthenticated(AuthenticationRequest, scramKeys: SCRAMKeys?, password: String?)
        case fail(PGError)
    }

    enum State: Sendable {
        case start
        case awaitingPassword(cleartext: Bool, salt: UInt32)
        case awaitingSASLInitial(SCRAMServer)
        case awaitingSASLResponse(SCRAMServer)
        case done
    }

    public let user: String
    public let method: ClientAuthMethod
    /// nil when the user is unknown: the exchange still runs, so a client cannot tell unknown users from wrong passwords.
    public let secret: ClientSecret?
    private var state = State.start
    private let salt: UInt32

    public init(user: String, method: ClientAuthMethod, secret: ClientSecret?, salt: UInt32 = UInt32.random(in: 0...UInt32.max)) {
        self.user = user
        self.method = method
        self.secret = secret
        self.salt = salt
    }

    public mutating func start() -> Action {
        switch method {
        case .trust, .any:
            state = .done
            return .authenticated(scramKeys: nil, password: plainPassword)
        case .reject:
            state = .done
            return .fail(.invalidAuthorization("connection rejected by auth_hba_file for user \"\(user)\""))
        case .plain:
            state = .awaitingPassword(cleartext: true, salt: 0)
            return .send(.cleartextPassword)
        case .md5:
            // An md5 challenge cannot be checked against a SCRAM verifier; PostgreSQL upgrades to SCRAM then.
            if case .scram = secret {
                return startSCRAM()
            }
            state = .awaitingPassword(cleartext: false, salt: salt)
            return .send(.md5Password(salt: salt))
        case .scram:
            return startSCRAM()
        }
    }

    private var plainPassword: String? {
        if case .plain(let p) = secret { return p }
        return nil
    }

    private mutating func startSCRAM() -> Action {
        let verifier: SCRAMSecret
        switch secret {
        case .scram(let s): verifier = s
        case .plain(let p): verifier = SCRAMSecret(password: p, salt: CryptoPrimitives.randomBytes(16), iterations: 4096)
        case .md5, nil:
            // No usable verifier: run the exchange against a random one so the failure looks like a wrong password.
            verifier = SCRAMSecret(iterations: 4096, salt: CryptoPrimitives.randomBytes(16), storedKey: CryptoPrimitives.randomBytes(32), serverKey: CryptoPrimitives.randomBytes(32))
        }
        state = .awaitingSASLInitial(SCRAMServer(secret: verifier))
        return .send(.sasl(mechanisms: ["SCRAM-SHA-256"]))
    }

    /// Takes the body of a 'p' message.
    public mutating func receive(_ body: ByteBuffer) -> Action {
        var b = body
        switch state {
        case .awaitingPassword(let cleartext, let salt):
            state = .done
            guard let given = b.readNullTerminatedString() else {
                return .fail(.protocolViolation("malformed password message"))
            }
            return checkPassword(given, cleartext: cleartext, salt: salt)
        case .awaitingSASLInitial(var server):
            guard let mechanism = b.readNullTerminatedString(), let len = b.readInteger(as: Int32.self) else {
                state = .done
                return .fail(.protocolViolation("malformed SASLInitialResponse"))
            }
            guard mechanism == "SCRAM-SHA-256" else {
                state = .done
                return .fail(.protocolViolation("unsupported SASL mechanism \(mechanism)"))
            }
            guard len >= 0, let data = b.readString(length: Int(len)) else {
                state = .done
                return .fail(.protocolViolation("malformed SASLInitialResponse"))
            }
            do {
                let first = try server.receiveClientFirst(data)
                state = .awaitingSASLResponse(server)
                var out = ByteBuffer()
                out.writeString(first)
                return .send(.saslContinue(out))
            } catch {
                state = .done
                return .fail(error)
            }
        case .awaitingSASLResponse(let server):
            state = .done
            let text = b.readString(length: b.readableBytes) ?? ""
            do {
                let (final, keys) = try server.receiveClientFinal(text, user: user)
                guard secret != nil else { return .fail(.invalidPassword(user)) }
                var out = ByteBuffer()
                out.writeString(final)
                // The final message and AuthenticationOk go out together; the caller sends Ok after this.
                if case .scram = secret {
                    return .sendThenAuthenticated(.saslFinal(out), scramKeys: keys, password: nil)
                }
                return .sendThenAuthenticated(.saslFinal(out), scramKeys: nil, password: plainPassword)
            } catch {
                return .fail(error)
            }
        case .start, .done:
            state = .done
            return .fail(.protocolViolation("unexpected password message"))
        }
    }

    private func checkPassword(_ given: String, cleartext: Bool, salt: UInt32) -> Action {
        let ok: Bool
        switch (secret, cleartext) {
        case (.plain(let p), true): ok = CryptoPrimitives.constantTimeEqual(Array(p.utf8), Array(given.utf8))
        case (.plain(let p), false):
            ok = CryptoPrimitives.constantTimeEqual(Array(MD5Auth.response(secret: MD5Auth.secret(user: user, password: p), salt: salt).utf8), Array(given.utf8))
        case (.md5(let s), true): ok = MD5Auth.secret(user: user, password: given) == s
        case (.md5(let s), false): ok = CryptoPrimitives.constantTimeEqual(Array(MD5Auth.response(secret: s, salt: salt).utf8), Array(given.utf8))
        case (.scram(let s), true):
            ok = SCRAMSecret(password: given, salt: s.salt, iterations: s.iterations) == s
        case (.scram, false), (nil, _): ok = false
        }
        guard ok else { return .fail(.invalidPassword(user)) }
        if cleartext { return .authenticated(scramKeys: nil, password: given) }
        return .authenticated(scramKeys: nil, password: plainPassword)
    }
}
