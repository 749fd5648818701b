// Reads a client's first packets (SSL/GSS requests, cancel, StartupMessage) and picks how it must authenticate.
import Foundation
import Config
import NIOCore
import PGWire
import PoolCore

/// A value inside its ClientConnection rather than an object of its own: every idle client keeps it, and an object
/// would add its header and an allocation to each.
struct ClientStartup {
    enum Step {
        case needMore
        /// Bytes to send, then keep reading startup packets.
        case reply(ByteBuffer)
        /// Send 'S', then the TLS handshake starts.
        case startTLS(ByteBuffer)
        case cancel(pid: Int32, secret: Int32)
        case fail(PGError)
        /// Startup accepted: authentication begins.
        case begin(ClientAuthMachine)
        case auth(ClientAuthMachine.Action)
        /// The user is not in auth_file: fetch its secret with auth_query first.
        case lookup(method: ClientAuthMethod, entry: DatabaseEntry, authUser: String, query: String)
    }

    let peer: SocketAddress?
    let cancelPID: Int32
    let cancelSecret: Int32 = Int32.random(in: Int32.min...Int32.max)
    let tlsAvailable: Bool
    private(set) var tls = false
    /// Set when the client asked for the admin console (database pgswift or pgbouncer).
    private(set) var adminRights: AdminRights?
    private(set) var user = ""
    private(set) var database = ""
    /// Startup parameters the client asked for that its server session must have.
    private(set) var parametersToApply: [String: String] = [:]
    /// The same, by lower-case name as pg_settings spells them: where the client's session settings start from. Set
    /// once the startup packet is read whole (`shareParameters`).
    private(set) var startupSettings: [String: String] = [:]
    /// Wall-clock time of the connection, for SHOW CLIENTS.
    let connectedAt = Date()

    init(peer: SocketAddress?, tlsAvailable: Bool, id: Int) {
        self.peer = peer
        self.tlsAvailable = tlsAvailable
        self.cancelPID = Int32(truncatingIfNeeded: id & 0x7FFF_FFFF)
    }

    var peerText: String {
        guard let peer else { return "unix" }
        if let ip = peer.ipAddress, let port = peer.port { return "\(ip):\(port)" }
        return "unix"
    }

    /// Seconds since the connection (for the log line of its close).
    var age: Int { Int(Date().timeIntervalSince(connectedAt)) }

    /// Login is over: the settings are derived from the parameters, and clients that asked for the same ones share
    /// one copy of each (an idle client keeps references only).
    mutating func shareParameters(_ runtime: ProxyRuntime) {
        parametersToApply = runtime.canonical(parametersToApply)
        startupSettings = runtime.canonical(Dictionary(parametersToApply.map { ($0.key.lowercased(), $0.value) }) { _, last in last })
    }

    /// `admitted`: whether the client holds a max_client_conn slot. One that does not is refused once its
    /// StartupMessage is read (SSL and GSS requests are answered first and cancel requests served, as they take no
    /// slot), unless it asks for the admin console.
    /// `negotiation`: set to the NegotiateProtocolVersion a StartupMessage asked for. PostgreSQL answers a version as
    /// soon as it has read it, before any verdict on the login (a refusal included), so the caller sends it before
    /// carrying out the step.
    mutating func readStartup(_ inbound: inout ByteBuffer, runtime: ProxyRuntime, admitted: Bool, negotiation: inout ByteBuffer?) -> Step {
        let body: ByteBuffer
        do {
            guard let b = try WholeFrameReader.nextStartup(&inbound) else { return .needMore }
            body = b
        } catch let e as ProtocolViolation {
            return .fail(.protocolViolation(e.message))
        } catch {
            return .fail(.protocolViolation("\(error)"))
        }
        let packet: StartupPacket
        do {
            packet = try StartupPacket.decode(body: body)
        } catch {
            return .fail(.protocolViolation("invalid startup packet: \(error)"))
        }
        switch packet {
        case .sslRequest:
            guard !tls else { return .fail(.protocolViolation("SSLRequest inside TLS")) }
            var out = ByteBuffer()
            if tlsAvailable {
                guard inbound.readableBytes == 0 else {
                    // Bytes after SSLRequest before the handshake would be read as plaintext: refuse (CVE-2021-23222 class).
                    return .fail(.protocolViolation("unexpected data after SSLRequest"))
                }
                out.writeInteger(UInt8(ascii: "S"))
                tls = true
                return .startTLS(out)
            }
            out.writeInteger(UInt8(ascii: "N"))
            return .reply(out)
        case .gssEncRequest:
            var out = ByteBuffer()
            out.writeInteger(UInt8(ascii: "N"))
            return .reply(out)
        case .cancel(let pid, let secret):
            return .cancel(pid: pid, secret: secret)
        case .startup(let major, let minor, let params):
            return begin(major: major, minor: minor, params: params, runtime: runtime, admitted: admitted, negotiation: &negotiation)
        }
    }

    static let sessionAttrs: Set<String> = ["any", "read-write", "read-only", "primary", "standby", "prefer-standby"]
    static let sessionAttrsSetting = "pgswift.target_session_attrs"

    private mutating func begin(major: UInt16, minor: UInt16, params: [StartupParameter], runtime: ProxyRuntime, admitted: Bool,
                       negotiation: inout ByteBuffer?) -> Step {
        switch ProtocolNegotiation.answer(major: major, minor: minor, parameterNames: params.map(\.name)) {
        case .refuse(let message):
            return .fail(.featureNotSupported(message))
        case .accept(let message?):
            var b = ByteBuffer()
            message.encode(into: &b)
            negotiation = b
        case .accept(nil):
            break
        }
        let config = runtime.config
        let tlsMode = config.string("client_tls_sslmode")
        if !tls && (tlsMode == "require" || tlsMode == "verify-ca" || tlsMode == "verify-full") {
            return .fail(.invalidAuthorization("SSL required"))
        }
        let ignored = Set(config.list("ignore_startup_parameters").map { $0.lowercased() })
        for p in params {
            switch p.name {
            case "user": user = p.value
            case "database": database = p.value
            case "replication":
                return .fail(.featureNotSupported("replication connections are not supported by pgswift"))
            case "options":
                do throws(PGError) {
                    for (k, v) in try StartupOptions.parse(p.value) where !ignored.contains(k.lowercased()) { parametersToApply[k] = v }
                } catch {
                    if !ignored.contains("options") { return .fail(error) }
                }
            case let n where ProtocolNegotiation.isProtocolOption(n):
                break

            case let n where ignored.contains(n.lowercased()):
                break
            default:
                parametersToApply[p.name] = p.value
            }
        }
        if let attrs = parametersToApply.removeValue(forKey: "target_session_attrs") {
            // libpq's own option, passed on by drivers (or in options): the kind of node a session-mode client is
            // pinned to (NodeRoutes). Kept under pgswift's prefix, which PostgreSQL takes as a placeholder setting
            // where the bare name would fail the login.
            guard Self.sessionAttrs.contains(attrs) else {
                return .fail(PGError("22023", "invalid target_session_attrs value: \"\(attrs)\"", severity: Severity.fatal))
            }
            parametersToApply[Self.sessionAttrsSetting] = attrs
        }
        guard !user.isEmpty else { return .fail(.invalidAuthorization("no user name in startup packet")) }
        if config.bool("application_name_add_host") {
            // PgBouncer's format, so log and pg_stat_activity readers keep working.
            let app = parametersToApply["application_name"] ?? ""
            parametersToApply["application_name"] = app.isEmpty ? peerText : "\(app) - \(peerText)"
        }
        if database.isEmpty { database = user }
        let wantsAdmin = AdminSession.databaseNames.contains(database) && config.database(named: database) == nil
        // As PgBouncer: the console stays reachable when the pooler is full, which is when it is needed.
        if !admitted, !wantsAdmin { return .fail(.tooManyClients()) }
        if wantsAdmin {
            return beginAdmin(config: config, runtime: runtime)
        }
        guard let entry = config.database(named: database) else { return .fail(.unknownDatabase(database)) }
        if runtime.databases.isDisabled(entry.name) {
            return .fail(PGError(SQLState.protocolViolation, "database \"\(entry.name)\" is disabled", severity: Severity.fatal))
        }
        let loaded = runtime.loaded
        guard let method = authMethod(config: config, runtime: runtime) else {
            return .fail(.featureNotSupported("auth_type \(config.string("auth_type")) is not supported"))
        }
        let authUser = entry.authUser ?? config.string("auth_user")
        if loaded.userlist[user] == nil, !authUser.isEmpty, method != .trust, method != .any, method != .reject {
            // auth_dbname names the database the lookup runs in; by default the one the client asked for.
            let authDB = config.string("auth_dbname")
            let lookupEntry = authDB.isEmpty ? entry : (config.database(named: authDB) ?? entry)
            return .lookup(method: method, entry: lookupEntry, authUser: authUser, query: entry.authQuery ?? config.string("auth_query"))
        }
        return .begin(ClientAuthMachine(user: user, method: method, secret: userlistSecret(loaded)))
    }

    private func authMethod(config: ProxyConfig, runtime: ProxyRuntime) -> ClientAuthMethod? {
        switch config.string("auth_type") {
        case "trust": .trust
        case "any": .any
        case "plain": .plain
        case "md5": .md5
        case "scram-sha-256": .scram
        case "hba": runtime.hba?.method(database: database, user: user, address: peer, tls: tls) ?? .reject
        default: nil
        }
    }

    private func userlistSecret(_ loaded: LoadedConfig) -> ClientSecret? {
        switch loaded.userlist[user] {
        case .plain(let p)?: .plain(p)
        case .md5(let s)?: .md5(s)
        case .scram(let text)?: SCRAMSecret.parse(text).map { .scram($0) }
        case nil: nil
        }
    }

    /// The admin console: only admin_users and stats_users, refused before any password is asked for, and
    /// authenticated from auth_file alone (never auth_query), as PgBouncer does.
    private mutating func beginAdmin(config: ProxyConfig, runtime: ProxyRuntime) -> Step {
        let rights: AdminRights
        if config.list("admin_users").contains(user) {
            rights = .admin
        } else if config.list("stats_users").contains(user) {
            rights = .stats
        } else {
            return .fail(PGError(SQLState.protocolViolation, "not allowed", severity: Severity.fatal))
        }
        guard let method = authMethod(config: config, runtime: runtime) else {
            return .fail(.featureNotSupported("auth_type \(config.string("auth_type")) is not supported"))
        }
        adminRights = rights
        return .begin(ClientAuthMachine(user: user, method: method, secret: userlistSecret(runtime.loaded)))
    }
}
