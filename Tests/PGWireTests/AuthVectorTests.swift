// SCRAM-SHA-256 against RFC 7677's exchange, and MD5 against PostgreSQL's known secret.
import NIOCore
import Testing

@testable import PGWire

@Suite("Authentication test vectors")
struct AuthVectorTests {
    // RFC 7677, section 3.
    let clientFirst = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
    let serverFirst = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
    let clientFinal = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
    let serverFinal = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="

    var secret: SCRAMSecret {
        SCRAMSecret(password: "pencil", salt: Base64.decode("W22ZaJ0SNY7soEsUEjb6gQ==")!, iterations: 4096)
    }

    @Test func scramServerReproducesRFC7677() throws {
        var server = SCRAMServer(secret: secret, serverNonce: "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0")
        #expect(try server.receiveClientFirst(clientFirst) == serverFirst)
        let (final, keys) = try server.receiveClientFinal(clientFinal, user: "user")
        #expect(final == serverFinal)
        // The recovered ClientKey is the one the password derives: pass-through to a server works with it.
        let expected = SCRAMKeys(password: "pencil", salt: secret.salt, iterations: 4096)
        #expect(keys == expected)
    }

    @Test func scramClientReproducesRFC7677() throws {
        var client = SCRAMClient(credential: .password("pencil"), user: "user", clientNonce: "rOprNGfwEbeRWgbNEkqO")
        #expect(client.clientFirstMessage == clientFirst)
        #expect(try client.receiveServerFirst(serverFirst) == clientFinal)
        try client.receiveServerFinal(serverFinal)
        #expect(throws: PGError.self) { try client.receiveServerFinal("v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=") }
    }

    @Test func scramClientWithKeysMatchesPassword() throws {
        let keys = SCRAMKeys(password: "pencil", salt: secret.salt, iterations: 4096)
        var client = SCRAMClient(credential: .keys(keys), user: "user", clientNonce: "rOprNGfwEbeRWgbNEkqO")
        #expect(try client.receiveServerFirst(serverFirst) == clientFinal)
    }

    @Test func scramServerRejectsWrongProof() throws {
        var server = SCRAMServer(secret: SCRAMSecret(password: "other", salt: secret.salt, iterations: 4096), serverNonce: "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0")
        _ = try server.receiveClientFirst(clientFirst)
        #expect(throws: PGError.invalidPassword("user")) { try server.receiveClientFinal(clientFinal, user: "user") }
    }

    @Test func scramServerRejectsChannelBindingAndGarbage() {
        var server = SCRAMServer(secret: secret)
        #expect(throws: PGError.self) { try server.receiveClientFirst("p=tls-server-end-point,,n=,r=abc") }
        #expect(throws: PGError.self) { try server.receiveClientFirst("garbage") }
        #expect(throws: PGError.self) { try server.receiveClientFirst("n,,n=,x=1") }
    }

    @Test func secretTextRoundTrips() throws {
        let text = secret.text
        #expect(text.hasPrefix("SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$"))
        #expect(SCRAMSecret.parse(text) == secret)
        #expect(SCRAMSecret.parse("SCRAM-SHA-256$x:abc$def:ghi") == nil)
        #expect(SCRAMSecret.parse("md5abc") == nil)
    }

    @Test func md5MatchesPostgreSQL() {
        // What PostgreSQL stores for role postgres with password postgres.
        #expect(MD5Auth.secret(user: "postgres", password: "postgres") == "md53175bce1d3201d16594cebf9d7eb3f9d")
        #expect(MD5Auth.isSecret("md53175bce1d3201d16594cebf9d7eb3f9d"))
        #expect(!MD5Auth.isSecret("md5short"))
        // The salted response is md5(inner hex + 4 salt bytes) with an md5 prefix.
        let r = MD5Auth.response(secret: "md53175bce1d3201d16594cebf9d7eb3f9d", salt: 0x01020304)
        let manual = "md5" + CryptoPrimitives.hex(CryptoPrimitives.md5(Array("3175bce1d3201d16594cebf9d7eb3f9d".utf8) + [1, 2, 3, 4]))
        #expect(r == manual)
    }

    @Test func base64RoundTripsAndRejectsJunk() {
        for n in 0..<10 {
            let bytes = (0..<n).map { UInt8($0 * 37 & 0xFF) }
            #expect(Base64.decode(Base64.encode(bytes)) == bytes)
        }
        #expect(Base64.encode(Array("pencil".utf8)) == "cGVuY2ls")
        #expect(Base64.decode("abc") == nil)
        #expect(Base64.decode("ab=c") == nil)
        #expect(Base64.decode("a!bc") == nil)
    }
}
