// The client side of a SCRAM-SHA-256 exchange: pgswift logging in to a PostgreSQL server.

public struct SCRAMClient: Sendable {
    /// Either the plaintext password, or keys taken from the client's own SCRAM exchange.
    public enum Credential: Sendable {
        case password(String)
        case keys(SCRAMKeys)
    }

    private let credential: Credential
    private let clientNonce: String
    /// PostgreSQL ignores the SCRAM user name (the startup packet names the user), so libpq sends it empty.
    private let user: String
    private var clientFirstBare: String { "n=\(user),r=\(clientNonce)" }
    private var expectedServerSignature: [UInt8] = []

    public init(credential: Credential, user: String = "", clientNonce: String = Base64.encode(CryptoPrimitives.randomBytes(18))) {
        self.credential = credential
        self.user = user
        self.clientNonce = clientNonce
    }

    public var clientFirstMessage: String { "n,," + clientFirstBare }

    /// Takes server-first-message, returns client-final-message.
    public mutating func receiveServerFirst(_ message: String) throws(PGError) -> String {
        let attrs = scramAttributes(message)
        guard let nonce = attrs.first(where: { $0.0 == "r" })?.1, nonce.hasPrefix(clientNonce),
            let saltText = attrs.first(where: { $0.0 == "s" })?.1, let salt = Base64.decode(saltText),
            let iterText = attrs.first(where: { $0.0 == "i" })?.1, let iterations = Int(iterText), iterations > 0
        else {
            throw PGError.serverUnreachable("server sent a malformed SCRAM server-first-message")
        }
        let keys: SCRAMKeys
        switch credential {
        case .password(let p): keys = SCRAMKeys(password: p, salt: salt, iterations: iterations)
        case .keys(let k): keys = k
        }
        let withoutProof = "c=biws,r=\(nonce)"
        let authMessage = Array("\(clientFirstBare),\(message),\(withoutProof)".utf8)
        let storedKey = CryptoPrimitives.sha256(keys.clientKey)
        let signature = CryptoPrimitives.hmacSHA256(key: storedKey, data: authMessage)
        let proof = zip(keys.clientKey, signature).map { $0 ^ $1 }
        expectedServerSignature = CryptoPrimitives.hmacSHA256(key: keys.serverKey, data: authMessage)
        return "\(withoutProof),p=\(Base64.encode(proof))"
    }

    /// Checks server-final-message: a server that cannot prove it knows the verifier is not trusted.
    public func receiveServerFinal(_ message: String) throws(PGError) {
        guard let v = scramAttributes(message).first(where: { $0.0 == "v" })?.1, let sig = Base64.decode(v),
            CryptoPrimitives.constantTimeEqual(sig, expectedServerSignature)
        else {
            throw PGError.serverUnreachable("server SCRAM signature did not verify")
        }
    }
}
