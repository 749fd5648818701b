// The instance's table versions, shared by the event loops: a write on one loop must move what every loop reads.
import NIOConcurrencyHelpers
import ResultCache

final class SharedVersions: Sendable {
    private let box = NIOLockedValueBox(TableVersions())

    func stamp(scope: String, tables: [String]) -> VersionStamp {
        box.withLockedValue { $0.stamp(database: scope, tables: tables) }
    }

    func wrote(scope: String, tables: some Sequence<String> & Sendable) {
        box.withLockedValue { $0.wrote(database: scope, tables: tables) }
    }

    func wroteAnything(scope: String) {
        box.withLockedValue { $0.wroteAnything(database: scope) }
    }

    func wroteEverywhere(table: String) {
        box.withLockedValue { $0.wroteEverywhere(table: table) }
    }

    var bumps: UInt64 { box.withLockedValue { $0.bumps } }
}
