// Thin wrappers over OpenSSL's libcrypto for the hashes SCRAM-SHA-256 and MD5 authentication need (and SHA-1, which
// the result cache's Redis script also computes, to name answers).
import CLibCrypto

public enum CryptoPrimitives {
    public static func sha256(_ data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        data.withUnsafeBufferPointer { d in
            _ = SHA256(d.baseAddress, d.count, &out)
        }
        return out
    }

    public static func sha1(_ data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 20)
        data.withUnsafeBufferPointer { d in
            _ = SHA1(d.baseAddress, d.count, &out)
        }
        return out
    }

    public static func hmacSHA256(key: [UInt8], data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var outLength: UInt32 = 32
        key.withUnsafeBufferPointer { k in
            data.withUnsafeBufferPointer { d in
                _ = HMAC(EVP_sha256(), k.baseAddress, Int32(k.count), d.baseAddress, d.count, &out, &outLength)
            }
        }
        return out
    }

    public static func pbkdf2SHA256(password: [UInt8], salt: [UInt8], iterations: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        password.withUnsafeBufferPointer { p in
            salt.withUnsafeBufferPointer { s in
                p.baseAddress!.withMemoryRebound(to: CChar.self, capacity: max(p.count, 1)) { pc in
                    _ = PKCS5_PBKDF2_HMAC(pc, Int32(p.count), s.baseAddress, Int32(s.count), Int32(iterations), EVP_sha256(), 32, &out)
                }
            }
        }
        return out
    }

    public static func md5(_ data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 16)
        var outLength: UInt32 = 16
        data.withUnsafeBufferPointer { d in
            _ = EVP_Digest(d.baseAddress, d.count, &out, &outLength, EVP_md5(), nil)
        }
        return out
    }

    public static func randomBytes(_ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        if RAND_bytes(&out, Int32(count)) != 1 {
            // RAND_bytes only fails if the kernel's entropy source is unusable: nothing safe to do then.
            preconditionFailure("OpenSSL RAND_bytes failed")
        }
        return out
    }

    public static func hex(_ bytes: [UInt8]) -> String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var s = [UInt8]()
        s.reserveCapacity(bytes.count * 2)
        for b in bytes {
            s.append(digits[Int(b >> 4)])
            s.append(digits[Int(b & 0xF)])
        }
        return String(decoding: s, as: UTF8.self)
    }

    /// Compares without an early exit, so timing does not reveal how much of a secret matched.
    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<a.count { diff |= a[i] ^ b[i] }
        return diff == 0
    }
}
