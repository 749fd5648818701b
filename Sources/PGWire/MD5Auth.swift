// PostgreSQL's MD5 password scheme: the stored secret and the salted challenge response.

public enum MD5Auth {
    /// The secret PostgreSQL stores: "md5" + md5(password + user).
    public static func secret(user: String, password: String) -> String {
        "md5" + CryptoPrimitives.hex(CryptoPrimitives.md5(Array(password.utf8) + Array(user.utf8)))
    }

    /// What a client sends for a salt: "md5" + md5(md5hex(password + user) + salt), computed from the stored secret.
    public static func response(secret: String, salt: UInt32) -> String {
        let inner = Array(secret.utf8.dropFirst(3))
        let saltBytes = [UInt8(salt >> 24 & 0xFF), UInt8(salt >> 16 & 0xFF), UInt8(salt >> 8 & 0xFF), UInt8(salt & 0xFF)]
        return "md5" + CryptoPrimitives.hex(CryptoPrimitives.md5(inner + saltBytes))
    }

    public static func isSecret(_ s: String) -> Bool {
        s.utf8.count == 35 && s.hasPrefix("md5") && s.utf8.dropFirst(3).allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }
}
