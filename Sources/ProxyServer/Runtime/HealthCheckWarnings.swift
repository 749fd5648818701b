// What --check and the start log say about health checks that cannot run as configured.
import Config

extension LoadedConfig {
    /// The config's own warnings and those about health checks of host lists.
    var warnings: [String] { config.warnings + healthCheckWarnings + routingWarnings }

    /// read_write_split where it cannot split: an entry of one host, or roles that are never learned.
    var routingWarnings: [String] {
        let c = config
        return c.databases.keys.sorted().compactMap { name -> String? in
            guard name != "*", let entry = c.databases[name], case .boolean(true) = c.routing("read_write_split", for: entry) else { return nil }
            if entry.hosts.count < 2 {
                // Said only where the entry asks for it: a global read_write_split covers single-host entries too.
                return entry.routing["read_write_split"] != nil ? "\(name): read_write_split needs several hosts (host=a,b,...); with one it has no effect" : nil
            }
            if settings.healthCheckPeriod == 0 {
                return "\(name): read_write_split needs health checks to learn which host is the primary; with health_check_period = 0 its hosts are used as a plain list"
            }
            return nil
        }
    }

    /// A health_check_user that cannot log in, or host lists whose checks must wait for a client's pool.
    var healthCheckWarnings: [String] {
        guard settings.healthCheckPeriod > 0 else { return [] }
        let lists = ProxyRuntime.hostLists(config).map { (key: $0.name, value: $0.entry) }
        guard !lists.isEmpty else { return [] }
        let user = settings.healthCheckUser
        if !user.isEmpty {
            switch userlist[user] {
            case .scram?:
                return ["health_check_user \(user) has only a SCRAM verifier in auth_file, which cannot log in: the hosts of "
                        + lists.map(\.key).joined(separator: ", ") + " are not checked; give it a plain or md5 password there"]
            case nil:
                return ["health_check_user \(user) is not in auth_file: checks log in without a password (trust only)"]
            case .plain?, .md5?:
                return []
            }
        }
        return lists.compactMap { name, entry -> String? in
            // A fixed server user with a usable password: its pool's credentials serve from the first check.
            if entry.password != nil { return nil }
            if let u = entry.user, case .plain? = userlist[u] { return nil }
            if let u = entry.user, case .md5? = userlist[u] { return nil }
            return "\(name): no health_check_user, so its hosts are checked only once a client's login has made a pool "
                + "(with that pool's credentials); set health_check_user to check them from the start"
        }
    }
}
