// The KnownSettings catalogue: every default parses under its own kind, and key names are unique and lower case.
import Testing

@testable import Config

@Suite("KnownSettings")
struct KnownSettingsTests {
    @Test("every default parses under its kind", arguments: KnownSettings.all.map(\.name))
    func defaultParses(name: String) throws {
        let spec = try #require(KnownSettings.all.first { $0.name == name })
        switch SettingValue.parse(spec.defaultValue, as: spec.kind) {
        case .success: break
        case .failure(let m): Issue.record("default \"\(spec.defaultValue)\" of \(name) does not parse: \(m.text)")
        }
    }

    @Test("setting names are unique")
    func uniqueNames() {
        var seen: Set<String> = []
        for s in KnownSettings.all {
            #expect(seen.insert(s.name).inserted, "\(s.name) is listed twice")
        }
        #expect(seen.count == KnownSettings.all.count)
    }

    @Test("setting names are lower case, as the loader looks them up")
    func lowerCaseNames() {
        for s in KnownSettings.all {
            #expect(s.name == s.name.lowercased(), "\(s.name)")
        }
    }

    @Test("[databases] and [users] key lists are unique and lower case")
    func entryKeys() {
        #expect(Set(KnownSettings.databaseKeys).count == KnownSettings.databaseKeys.count)
        #expect(Set(KnownSettings.userKeys).count == KnownSettings.userKeys.count)
        #expect(KnownSettings.databaseKeys.allSatisfy { $0 == $0.lowercased() })
        #expect(KnownSettings.userKeys.allSatisfy { $0 == $0.lowercased() })
    }

    @Test("every setting has a one-line summary")
    func summaries() {
        for s in KnownSettings.all {
            #expect(!s.summary.isEmpty && !s.summary.contains("\n"), "\(s.name)")
        }
    }
}
