// Logs pgswift in to a PostgreSQL server: answers its authentication requests, collects parameters and keys. No I/O.
import NIOCore
import PGWire

/// What pgswift can show a server to prove it may log in as a user.
public enum ServerCredential: Sendable, Equatable {
    case none
    case password(String)
    /// An md5 secret ("md5..."): enough for md5 authentication only.
    case md5Secret(String)
    /// Keys from the client's own SCRAM exchange (pass-through); enough for SCRAM only.
    case scramKeys(SCRAMKeys)
}

public struct ServerLoginMachine: Sendable {
    public enum Action: Sendable {
        case send(FrontendMessage)
        case wait
        /// Login finished: the server is idle and ready.
        case ready(parameters: [String: String], processID: Int32, secretKey: Int32)
        case fail(PGError)
    }

    enum State: Sendable {
        case authenticating
        case sasl(SCRAMClient)
        case saslFinal(SCRAMClient)
        case settingUp
        case done
    }

    public let user: String
    public let credential: ServerCredential
    private var state = State.authenticating
    public private(set) var parameters: [String: String] = [:]
    private var processID: Int32 = 0
    private var secretKey: Int32 = 0

    public init(user: String, credential: ServerCredential) {
        self.user = user
        self.credential = credential
    }

    public static func startupPacket(user: String, database: String, parameters: [String: String]) -> StartupPacket {
        var params = [StartupParameter(name: "user", value: user), StartupParameter(name: "database", value: database)]
        for (k, v) in parameters.sorted(by: { $0.key < $1.key }) {
            params.append(StartupParameter(name: k, value: v))
        }
        return .startup(major: 3, minor: 0, parameters: params)
    }

    public mutating func receive(_ message: BackendMessage) -> Action {
        switch (state, message) {
        case (.authenticating, .authentication(let request)):
            return authenticate(request)
        case (.sasl(var client), .authentication(.saslContinue(var data))):
            let text = data.readString(length: data.readableBytes) ?? ""
            do {
                let final = try client.receiveServerFirst(text)
                state = .saslFinal(client)
                var b = ByteBuffer()
                b.writeString(final)
                return .send(.authenticationResponse(b))
            } catch {
                state = .done
                return .fail(error)
            }
        case (.saslFinal(let client), .authentication(.saslFinal(var data))):
            do {
                try client.receiveServerFinal(data.readString(length: data.readableBytes) ?? "")
                state = .authenticating  // AuthenticationOk follows
                return .wait
            } catch {
                state = .done
                return .fail(error)
            }
        case (.authenticating, .parameterStatus(let name, let value)), (.settingUp, .parameterStatus(let name, let value)):
            parameters[name] = value
            return .wait
        case (.authenticating, .backendKeyData(let pid, let key)), (.settingUp, .backendKeyData(let pid, let key)):
            processID = pid
            secretKey = key
            return .wait
        case (.settingUp, .readyForQuery):
            state = .done
            return .ready(parameters: parameters, processID: processID, secretKey: secretKey)
        case (_, .noticeResponse):
            return .wait
        case (_, .errorResponse(let fields)):
            state = .done
            let code = fields.sqlState ?? SQLState.connectionFailure
            let text = fields.message ?? "server login failed"
            // The client sees why the server refused, under the server's own SQLSTATE.
            return .fail(PGError(code, "server login failed: \(text)", severity: Severity.fatal))
        case (_, .negotiateProtocolVersion):
            return .wait
        default:
            state = .done
            return .fail(.serverUnreachable("unexpected message \(describeType(message.typeCode)) from server during login"))
        }
    }

    private mutating func authenticate(_ request: AuthenticationRequest) -> Action {
        switch request {
        case .ok:
            state = .settingUp
            return .wait
        case .cleartextPassword:
            guard case .password(let p) = credential else { return missing("cleartext") }
            return .send(.authenticationResponse(cstring(p)))
        case .md5Password(let salt):
            let secret: String
            switch credential {
            case .password(let p): secret = MD5Auth.secret(user: user, password: p)
            case .md5Secret(let s): secret = s
            case .none, .scramKeys: return missing("md5")
            }
            return .send(.authenticationResponse(cstring(MD5Auth.response(secret: secret, salt: salt))))
        case .sasl(let mechanisms):
            guard mechanisms.contains("SCRAM-SHA-256") else {
                state = .done
                return .fail(.serverUnreachable("server offers no supported SASL mechanism (\(mechanisms.joined(separator: ", ")))"))
            }
            let client: SCRAMClient
            switch credential {
            case .password(let p): client = SCRAMClient(credential: .password(p))
            case .scramKeys(let k): client = SCRAMClient(credential: .keys(k))
            case .none, .md5Secret: return missing("SCRAM-SHA-256")
            }
            state = .sasl(client)
            var b = ByteBuffer()
            b.writeNullTerminatedString("SCRAM-SHA-256")
            let first = client.clientFirstMessage
            b.writeInteger(Int32(first.utf8.count))
            b.writeString(first)
            return .send(.authenticationResponse(b))
        case .kerberosV5, .gss, .gssContinue, .sspi, .saslContinue, .saslFinal:
            state = .done
            return .fail(.serverUnreachable("server requested an unsupported authentication method"))
        }
    }

    private mutating func missing(_ method: String) -> Action {
        state = .done
        return .fail(.serverUnreachable("server asks for \(method) authentication for user \"\(user)\" but pgswift has no usable password for it (set password= in [databases] or the user's secret in auth_file)"))
    }

    private func cstring(_ s: String) -> ByteBuffer {
        var b = ByteBuffer()
        b.writeNullTerminatedString(s)
        return b
    }
}
