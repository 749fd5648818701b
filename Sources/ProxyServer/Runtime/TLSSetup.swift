// Builds the TLS contexts for the client side (client_tls_*) and server side (server_tls_*) from the config.
import Config
import NIOSSL
import PoolCore
import NIOCore

enum TLSSetup {
    static func clientSide(_ c: ProxyConfig) throws(ConfigErrors) -> NIOSSLContext? {
        guard c.string("client_tls_sslmode") != "disable" else { return nil }
        do {
            let certs = try NIOSSLCertificate.fromPEMFile(c.string("client_tls_cert_file"))
            let key = try NIOSSLPrivateKey(file: c.string("client_tls_key_file"), format: .pem)
            var tls = TLSConfiguration.makeServerConfiguration(certificateChain: certs.map { .certificate($0) }, privateKey: .privateKey(key))
            let ca = c.string("client_tls_ca_file")
            if !ca.isEmpty { tls.trustRoots = .file(ca) }
            // verify-ca/verify-full (and auth_type cert) demand a client certificate signed by client_tls_ca_file.
            let mode = c.string("client_tls_sslmode")
            if mode == "verify-ca" || mode == "verify-full" || c.string("auth_type") == "cert" {
                tls.certificateVerification = .noHostnameVerification
            } else {
                tls.certificateVerification = .none
            }
            return try NIOSSLContext(configuration: tls)
        } catch {
            throw ConfigErrors([ConfigError(file: c.path, line: 0, key: "client_tls_cert_file", message: "cannot load TLS certificate or key: \(error)")])
        }
    }

    static func serverSide(_ c: ProxyConfig) throws(ConfigErrors) -> NIOSSLContext? {
        let mode = c.string("server_tls_sslmode")
        guard mode != "disable" else { return nil }
        do {
            var tls = TLSConfiguration.makeClientConfiguration()
            let ca = c.string("server_tls_ca_file")
            switch mode {
            case "verify-ca", "verify-full":
                if !ca.isEmpty { tls.trustRoots = .file(ca) }
                tls.certificateVerification = mode == "verify-full" ? .fullVerification : .noHostnameVerification
            default:
                tls.certificateVerification = .none
            }
            let cert = c.string("server_tls_cert_file"), key = c.string("server_tls_key_file")
            if !cert.isEmpty && !key.isEmpty {
                tls.certificateChain = try NIOSSLCertificate.fromPEMFile(cert).map { .certificate($0) }
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
            }
            return try NIOSSLContext(configuration: tls)
        } catch {
            throw ConfigErrors([ConfigError(file: c.path, line: 0, key: "server_tls_ca_file", message: "cannot set up server TLS: \(error)")])
        }
    }
}

extension HbaFile {
    func method(database: String, user: String, address: SocketAddress?, tls: Bool) -> ClientAuthMethod {
        var bytes: [UInt8]?
        switch address {
        case .v4(let a)?: bytes = withUnsafeBytes(of: a.address.sin_addr) { Array($0) }
        case .v6(let a)?: bytes = withUnsafeBytes(of: a.address.sin6_addr) { Array($0) }
        default: bytes = nil
        }
        switch self.method(database: database, user: user, addressBytes: bytes, tls: tls) {
        case "trust"?: return .trust
        case "md5"?: return .md5
        case "scram-sha-256"?: return .scram
        case "password"?: return .plain
        default: return .reject
        }
    }
}
