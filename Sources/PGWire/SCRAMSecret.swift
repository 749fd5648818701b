// A SCRAM-SHA-256 verifier as PostgreSQL stores it: SCRAM-SHA-256$iter:salt$StoredKey:ServerKey.

public struct SCRAMSecret: Equatable, Sendable {
    public var iterations: Int
    public var salt: [UInt8]
    public var storedKey: [UInt8]
    public var serverKey: [UInt8]

    public init(iterations: Int, salt: [UInt8], storedKey: [UInt8], serverKey: [UInt8]) {
        self.iterations = iterations
        self.salt = salt
        self.storedKey = storedKey
        self.serverKey = serverKey
    }

    /// Derives the verifier from a plaintext password (no SASLprep: ASCII passwords are unchanged by it).
    public init(password: String, salt: [UInt8], iterations: Int) {
        let keys = SCRAMKeys(password: password, salt: salt, iterations: iterations)
        self.init(iterations: iterations, salt: salt, storedKey: CryptoPrimitives.sha256(keys.clientKey), serverKey: keys.serverKey)
    }

    public static func parse(_ text: String) -> SCRAMSecret? {
        guard text.hasPrefix("SCRAM-SHA-256$") else { return nil }
        let rest = text.dropFirst("SCRAM-SHA-256$".count)
        let halves = rest.split(separator: "$", omittingEmptySubsequences: false)
        guard halves.count == 2 else { return nil }
        let head = halves[0].split(separator: ":", omittingEmptySubsequences: false)
        let keys = halves[1].split(separator: ":", omittingEmptySubsequences: false)
        guard head.count == 2, keys.count == 2, let iterations = Int(head[0]), iterations > 0,
            let salt = Base64.decode(head[1]), let stored = Base64.decode(keys[0]), let server = Base64.decode(keys[1]),
            stored.count == 32, server.count == 32
        else { return nil }
        return SCRAMSecret(iterations: iterations, salt: salt, storedKey: stored, serverKey: server)
    }

    public var text: String {
        "SCRAM-SHA-256$\(iterations):\(Base64.encode(salt))$\(Base64.encode(storedKey)):\(Base64.encode(serverKey))"
    }
}

/// ClientKey and ServerKey: what a password yields for one salt and iteration count.
/// Holding them is enough to log in to a server whose verifier has the same salt (pass-through).
public struct SCRAMKeys: Equatable, Sendable {
    public var clientKey: [UInt8]
    public var serverKey: [UInt8]

    public init(clientKey: [UInt8], serverKey: [UInt8]) {
        self.clientKey = clientKey
        self.serverKey = serverKey
    }

    public init(password: String, salt: [UInt8], iterations: Int) {
        let salted = CryptoPrimitives.pbkdf2SHA256(password: Array(password.utf8), salt: salt, iterations: iterations)
        clientKey = CryptoPrimitives.hmacSHA256(key: salted, data: Array("Client Key".utf8))
        serverKey = CryptoPrimitives.hmacSHA256(key: salted, data: Array("Server Key".utf8))
    }
}

/// Splits "a=1,b=2" SCRAM attribute lists; values may contain '=' but not ','.
func scramAttributes(_ text: some StringProtocol) -> [(Character, Substring)] {
    text.split(separator: ",", omittingEmptySubsequences: false).compactMap { part -> (Character, Substring)? in
        guard part.count >= 2, part[part.index(after: part.startIndex)] == "=" else { return nil }
        return (part.first!, Substring(part.dropFirst(2)))
    }
}
