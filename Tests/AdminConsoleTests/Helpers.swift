// Running a command line against a fake runtime, and reading its table by column name.
import AdminConsole
import NIOCore
import PoolCore
import Testing

/// A table's rows as column name to cell; the header and each row must be the same width.
struct Rows {
    var columns: [String]
    var rows: [[String: String?]]

    init(_ table: AdminTable) {
        columns = table.columns.map(\.name)
        for row in table.rows { #expect(row.count == table.columns.count, "row of \(row.count) cells under \(table.columns.count) columns") }
        rows = table.rows.map { Dictionary(uniqueKeysWithValues: zip(table.columns.map(\.name), $0)) }
    }

    /// The one row whose `key` column is `value`.
    func row(_ key: String, _ value: String) -> [String: String?] {
        let found = rows.filter { $0[key] == value }
        #expect(found.count == 1, "\(found.count) rows with \(key) = \(value)")
        return found.first ?? [:]
    }
}

func run(_ text: String, _ runtime: FakeRuntime, rights: AdminRights = .admin) async -> AdminReply {
    await AdminCommands.execute(text, rights: rights, runtime: runtime)
}

func table(_ text: String, _ runtime: FakeRuntime) async -> Rows {
    let reply = await run(text, runtime)
    guard case .table(let t, "SHOW") = reply else {
        Issue.record("\(text): \(reply)")
        return Rows(AdminTable([]))
    }
    return Rows(t)
}

/// The tag of a successful command, or the error's message.
func outcome(_ reply: AdminReply) -> String {
    switch reply {
    case .done(let tag): "tag \(tag)"
    case .error(let e): "error \(e.message)"
    case .notice(let message, _, let tag): "notice \(message) \(tag)"
    case .silent: "silent"
    case .table(_, let tag): "table \(tag)"
    }
}

extension AdminConnection {
    static func client(_ id: Int, _ pool: PoolKey?, _ state: ConnectionState, database: String? = nil, user: String? = nil,
                       wait: Double = 0) -> AdminConnection {
        AdminConnection(isClient: true, id: id, user: user ?? pool?.user ?? "", database: database ?? pool?.database ?? "",
                        state: state, waitSeconds: wait, pool: pool)
    }

    static func server(_ id: Int, _ pool: PoolKey, _ state: ConnectionState, cancelling: Bool = false,
                       closeNeeded: Bool = false) -> AdminConnection {
        AdminConnection(isClient: false, id: id, user: pool.user, database: pool.database, state: state, pool: pool,
                        closeNeeded: closeNeeded, cancelInFlight: cancelling)
    }
}

let appAlice = PoolKey(database: "appdb", user: "alice")
let otherForced = PoolKey(database: "otherdb", user: "forced")
