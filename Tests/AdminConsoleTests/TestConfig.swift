// A real config loaded from pgbouncer.ini text, for the commands that read settings and [databases]/[users].
import Config
import Foundation

enum TestConfig {
    static let standard = load("""
        [databases]
        appdb = host=10.0.0.5 port=5433 dbname=app pool_size=7
        otherdb = host=127.0.0.1 user=forced pool_mode=session

        [users]
        alice = pool_mode=transaction pool_size=5 reserve_pool_size=2

        [pgbouncer]
        auth_type = trust
        listen_port = 6543
        max_user_connections = 40
        max_db_connections = 30
        max_db_client_connections = 50
        max_user_client_connections = 60
        server_lifetime = 1800
        status_admin_token = s3cret
        """)

    static func load(_ text: String) -> ProxyConfig {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("admin-console-\(UUID().uuidString).ini")
        try! text.write(to: url, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: url) }
        do {
            return try ConfigLoader.load(path: url.path)
        } catch {
            fatalError("test config does not load: \(error)")
        }
    }
}
