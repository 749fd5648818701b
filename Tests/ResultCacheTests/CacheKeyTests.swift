// CacheKey: every input that can change a read's rows makes another key; settings that cannot, and their order, do not.
import ResultCache
import SQLAnalysis
import Testing

@Suite("Cache keys")
struct CacheKeyTests {
    struct Inputs: Sendable {
        var database = "app"
        var user = "web"
        var settings: [String: String] = ["TimeZone": "UTC", "DateStyle": "ISO, MDY", "search_path": "app, public", "application_name": "a"]
        var statement = CacheKey.Statement.shape(Array("SELECT * FROM t WHERE id = $1".utf8))
        var parameters: [[UInt8]?] = [Array("7".utf8)]
        var parameterFormats: [Int16] = [0]
        var resultFormats: [Int16] = [0]
        var schemaEpoch = 3
        var tableVersions: [(table: QualifiedName, version: UInt64)] = [(QualifiedName(schema: "app", "t"), 11)]

        var key: CacheKey {
            CacheKey(database: database, user: user, settings: settings, statement: statement, parameters: parameters,
                     parameterFormats: parameterFormats, resultFormats: resultFormats, schemaEpoch: schemaEpoch, tableVersions: tableVersions)
        }
    }

    struct Change: Sendable, CustomTestStringConvertible {
        var name: String
        var apply: @Sendable (inout Inputs) -> Void
        var testDescription: String { name }
    }

    /// Each of these changes what the read may return: the key must differ.
    static let changes: [Change] = [
        Change(name: "database") { $0.database = "app2" },
        Change(name: "server user") { $0.user = "admin" },
        Change(name: "TimeZone") { $0.settings["TimeZone"] = "Europe/Paris" },
        Change(name: "DateStyle") { $0.settings["DateStyle"] = "German" },
        Change(name: "search_path") { $0.settings["search_path"] = "public" },
        Change(name: "a custom setting (row-level security)") { $0.settings["app.tenant"] = "42" },
        Change(name: "SET ROLE") { $0.settings["role"] = "auditor" },
        Change(name: "extra_float_digits") { $0.settings["extra_float_digits"] = "3" },
        Change(name: "bytea_output") { $0.settings["bytea_output"] = "escape" },
        Change(name: "the statement") { $0.statement = .shape(Array("SELECT * FROM t WHERE id = $1 LIMIT 1".utf8)) },
        Change(name: "a prepared statement in place of the shape") { $0.statement = .prepared(5) },
        Change(name: "a parameter") { $0.parameters = [Array("8".utf8)] },
        Change(name: "a NULL parameter") { $0.parameters = [nil] },
        Change(name: "a parameter's format") { $0.parameterFormats = [1] },
        Change(name: "binary results") { $0.resultFormats = [1] },
        Change(name: "the schema epoch") { $0.schemaEpoch = 4 },
        Change(name: "a table's version (a write)") { $0.tableVersions = [(QualifiedName(schema: "app", "t"), 12)] },
        Change(name: "another table read") { $0.tableVersions.append((QualifiedName(schema: "app", "u"), 1)) },
    ]

    @Test(arguments: changes)
    func aChangeThatMattersMakesAnotherKey(_ change: Change) {
        var changed = Inputs()
        change.apply(&changed)
        #expect(changed.key != Inputs().key)
    }

    @Test func settingsThatCannotChangeRowsAndTheirOrderDoNot() {
        var other = Inputs()
        other.settings["application_name"] = "b"
        other.settings["statement_timeout"] = "5s"
        // Names in another case, given in another order.
        other.settings = Dictionary(uniqueKeysWithValues: other.settings.map { ($0.key.uppercased(), $0.value) }.reversed())
        other.tableVersions = other.tableVersions.reversed()
        #expect(other.key == Inputs().key)
        #expect(other.key.hashValue == Inputs().key.hashValue)
    }

    @Test func fieldsDoNotRunIntoEachOther() {
        var a = Inputs(), b = Inputs()
        a.database = "ab"
        a.user = "c"
        b.database = "a"
        b.user = "bc"
        #expect(a.key != b.key)
        a = Inputs()
        b = Inputs()
        a.parameters = [Array("1".utf8), Array("23".utf8)]
        b.parameters = [Array("12".utf8), Array("3".utf8)]
        #expect(a.key != b.key)
        // NULL is not the empty string.
        a.parameters = [nil]
        b.parameters = [[]]
        #expect(a.key != b.key)
    }
}
