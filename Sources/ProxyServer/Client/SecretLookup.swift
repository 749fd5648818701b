// auth_query: fetches a client's password secret from the database, over a pooled connection as auth_user.
import NIOCore
import PGWire
import PoolCore
import SessionCore

/// Waits in the auth_user's pool like a client, runs the query once it has a server, and gives the server back.
final class SecretLookup: PoolWaiter, @unchecked Sendable {
    let waiterID: Int
    let eventLoop: EventLoop
    let loopIndex: Int
    private let pool: ServerPool
    private let query: String
    private let user: String
    /// Called once, on `eventLoop`: the user's secret, nil when the query found none.
    private let completion: (Result<ClientSecret?, PGError>) -> Void

    init(runtime: ProxyRuntime, pool: ServerPool, query: String, user: String, on loop: EventLoop,
         completion: @escaping (Result<ClientSecret?, PGError>) -> Void) {
        self.waiterID = runtime.nextID()
        self.eventLoop = loop
        self.loopIndex = runtime.loopIndex(of: loop)
        self.pool = pool
        self.query = query
        self.user = user
        self.completion = completion
    }

    func start() { pool.lease(for: self, now: .now()) }

    func serverAssigned(_ server: ServerConnection, now: NIODeadline) {
        server.eventLoop.execute { [self] in
            server.runInternal(query, parameter: user) { [self] error in
                let row = server.internalRow
                server.giveBack(.done(keepsSession: false, pinned: false))
                let result: Result<ClientSecret?, PGError>
                if let error {
                    result = .failure(PGError(SQLState.invalidAuthorizationSpecification, "auth_query failed: \(error.message)", severity: Severity.fatal))
                } else {
                    result = .success(Self.secret(from: row))
                }
                eventLoop.execute { self.completion(result) }
            }
        }
    }

    func poolFailed(_ failure: PGErrorInfo) {
        let error = PGError(failure.sqlState, failure.message, severity: Severity.fatal)
        eventLoop.execute { self.completion(.failure(error)) }
    }

    /// The second column holds what pg_authid.rolpassword holds: a SCRAM verifier, an md5 secret, or NULL.
    static func secret(from row: [ByteBuffer?]?) -> ClientSecret? {
        guard let row, row.count >= 2, var value = row[1], let text = value.readString(length: value.readableBytes), !text.isEmpty else {
            return nil
        }
        if let scram = SCRAMSecret.parse(text) { return .scram(scram) }
        if MD5Auth.isSecret(text) { return .md5(text) }
        return .plain(text)
    }
}
