// The server side of a SCRAM-SHA-256 exchange: pgswift authenticating a client against a stored verifier.

/// Runs one exchange. Feed the SASLInitialResponse data, then the SASLResponse data.
public struct SCRAMServer: Sendable {
    public let secret: SCRAMSecret
    private let serverNonce: String
    private var clientFirstBare = ""
    private var serverFirst = ""
    private var combinedNonce = ""

    public init(secret: SCRAMSecret, serverNonce: String = Base64.encode(CryptoPrimitives.randomBytes(18))) {
        self.secret = secret
        self.serverNonce = serverNonce
    }

    /// Takes client-first-message, returns server-first-message.
    public mutating func receiveClientFirst(_ message: String) throws(PGError) -> String {
        // gs2 header: "n,," (no channel binding) or "y,," (client could but thinks we cannot).
        let parts = message.split(separator: ",", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw PGError.protocolViolation("malformed SCRAM client-first-message") }
        switch parts[0] {
        case "n", "y": break
        case let p where p.hasPrefix("p="):
            throw PGError.featureNotSupported("SCRAM channel binding is not supported; use SCRAM-SHA-256 without -PLUS")
        default:
            throw PGError.protocolViolation("malformed SCRAM GS2 header")
        }
        guard parts[1].isEmpty else { throw PGError.featureNotSupported("SCRAM authorization identity is not supported") }
        clientFirstBare = String(parts[2])
        guard let nonce = scramAttributes(clientFirstBare).first(where: { $0.0 == "r" })?.1, !nonce.isEmpty else {
            throw PGError.protocolViolation("SCRAM client-first-message has no nonce")
        }
        combinedNonce = String(nonce) + serverNonce
        serverFirst = "r=\(combinedNonce),s=\(Base64.encode(secret.salt)),i=\(secret.iterations)"
        return serverFirst
    }

    /// Takes client-final-message; on a valid proof returns server-final-message and the client's ClientKey.
    /// A wrong proof throws 28P01 for `user`.
    public func receiveClientFinal(_ message: String, user: String) throws(PGError) -> (serverFinal: String, keys: SCRAMKeys) {
        // The proof is always the last attribute; everything before it is signed.
        guard let proofStart = message.lastIndex(of: ","), message[proofStart...].hasPrefix(",p=") else {
            throw PGError.protocolViolation("SCRAM client-final-message has no proof")
        }
        let withoutProof = String(message[..<proofStart])
        let attrs = scramAttributes(withoutProof)
        guard let nonce = attrs.first(where: { $0.0 == "r" })?.1, nonce == combinedNonce else {
            throw PGError.protocolViolation("SCRAM nonce mismatch")
        }
        guard let binding = attrs.first(where: { $0.0 == "c" })?.1, binding == "biws" || binding == "eSws" else {
            throw PGError.protocolViolation("unexpected SCRAM channel binding")
        }
        guard let proof = Base64.decode(message[message.index(proofStart, offsetBy: 3)...]), proof.count == 32 else {
            throw PGError.protocolViolation("malformed SCRAM proof")
        }
        let authMessage = Array("\(clientFirstBare),\(serverFirst),\(withoutProof)".utf8)
        let clientSignature = CryptoPrimitives.hmacSHA256(key: secret.storedKey, data: authMessage)
        let clientKey = zip(proof, clientSignature).map { $0 ^ $1 }
        guard CryptoPrimitives.constantTimeEqual(CryptoPrimitives.sha256(clientKey), secret.storedKey) else {
            throw PGError.invalidPassword(user)
        }
        let serverSignature = CryptoPrimitives.hmacSHA256(key: secret.serverKey, data: authMessage)
        return ("v=" + Base64.encode(serverSignature), SCRAMKeys(clientKey: clientKey, serverKey: secret.serverKey))
    }
}
