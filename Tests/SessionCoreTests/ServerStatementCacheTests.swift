// ServerStatementCache as step tables: least recently used out first, use() refreshing, capacity, and names
// that change generation after removeAll.
import SessionCore
import Testing

@Suite("ServerStatementCache")
struct ServerStatementCacheTests {
    enum Op: Sendable, CustomStringConvertible {
        /// insert must return `evicts`.
        case insert(Int, evicts: Int?)
        /// use must return `holds`.
        case use(Int, holds: Bool)
        case remove(Int)
        case removeAll

        var description: String {
            switch self {
            case .insert(let s, let e): "insert(\(s)) evicting \(e.map(String.init) ?? "nothing")"
            case .use(let s, let h): "use(\(s)) == \(h)"
            case .remove(let s): "remove(\(s))"
            case .removeAll: "removeAll"
            }
        }
    }

    struct Step: Sendable {
        var op: Op
        /// What the cache holds afterwards.
        var holds: Set<Int>
    }

    struct Scenario: Sendable, CustomTestStringConvertible {
        var name: String
        var capacity: Int
        var steps: [Step]
        var testDescription: String { name }
    }

    static func s(_ op: Op, _ holds: Set<Int>) -> Step { Step(op: op, holds: holds) }

    static let scenarios: [Scenario] = [
        Scenario(
            name: "oldest out first",
            capacity: 3,
            steps: [
                s(.insert(1, evicts: nil), [1]), s(.insert(2, evicts: nil), [1, 2]), s(.insert(3, evicts: nil), [1, 2, 3]),
                s(.insert(4, evicts: 1), [2, 3, 4]),
                s(.insert(5, evicts: 2), [3, 4, 5]),
                s(.insert(6, evicts: 3), [4, 5, 6]),
            ]),
        Scenario(
            name: "use() refreshes recency",
            capacity: 3,
            steps: [
                s(.insert(1, evicts: nil), [1]), s(.insert(2, evicts: nil), [1, 2]), s(.insert(3, evicts: nil), [1, 2, 3]),
                s(.use(1, holds: true), [1, 2, 3]),
                s(.insert(4, evicts: 2), [1, 3, 4]),
                s(.use(3, holds: true), [1, 3, 4]),
                s(.insert(5, evicts: 1), [3, 4, 5]),
                s(.use(4, holds: true), [3, 4, 5]),
                s(.use(3, holds: true), [3, 4, 5]),
                s(.insert(6, evicts: 5), [3, 4, 6]),
            ]),
        Scenario(
            name: "use() of a statement not held adds nothing",
            capacity: 2,
            steps: [
                s(.use(9, holds: false), []),
                s(.insert(1, evicts: nil), [1]),
                s(.use(9, holds: false), [1]),
                s(.insert(2, evicts: nil), [1, 2]),
                s(.insert(3, evicts: 1), [2, 3]),
                s(.use(1, holds: false), [2, 3]),
            ]),
        Scenario(
            name: "inserting a held statement refreshes it and evicts nothing",
            capacity: 2,
            steps: [
                s(.insert(1, evicts: nil), [1]), s(.insert(2, evicts: nil), [1, 2]),
                s(.insert(1, evicts: nil), [1, 2]),
                s(.insert(3, evicts: 2), [1, 3]),
            ]),
        Scenario(
            name: "capacity 1",
            capacity: 1,
            steps: [
                s(.insert(1, evicts: nil), [1]),
                s(.insert(2, evicts: 1), [2]),
                s(.insert(2, evicts: nil), [2]),
                s(.use(2, holds: true), [2]),
                s(.insert(1, evicts: 2), [1]),
            ]),
        Scenario(
            name: "capacity 0 never evicts",
            capacity: 0,
            steps: (1...20).map { s(.insert($0, evicts: nil), Set(1...$0)) }),
        Scenario(
            name: "remove frees a slot",
            capacity: 2,
            steps: [
                s(.insert(1, evicts: nil), [1]), s(.insert(2, evicts: nil), [1, 2]),
                s(.remove(1), [2]),
                s(.use(1, holds: false), [2]),
                s(.insert(3, evicts: nil), [2, 3]),
                s(.insert(4, evicts: 2), [3, 4]),
                s(.remove(7), [3, 4]),
            ]),
        Scenario(
            name: "removeAll empties and the cache fills again",
            capacity: 2,
            steps: [
                s(.insert(1, evicts: nil), [1]), s(.insert(2, evicts: nil), [1, 2]),
                s(.removeAll, []),
                s(.use(1, holds: false), []),
                s(.insert(2, evicts: nil), [2]), s(.insert(3, evicts: nil), [2, 3]),
                s(.insert(1, evicts: 2), [1, 3]),
            ]),
    ]

    @Test(arguments: scenarios)
    func steps(_ sc: Scenario) {
        var cache = ServerStatementCache(capacity: sc.capacity)
        #expect(cache.capacity == sc.capacity)
        for (i, step) in sc.steps.enumerated() {
            let at = Comment(rawValue: "step \(i): \(step.op)")
            switch step.op {
            case .insert(let id, let evicts):
                #expect(cache.insert(id) == evicts, at)
            case .use(let id, let holds):
                #expect(cache.use(id) == holds, at)
            case .remove(let id):
                cache.remove(id)
            case .removeAll:
                cache.removeAll()
            }
            #expect(cache.statements == step.holds, at)
            #expect(cache.count == step.holds.count, at)
        }
    }

    @Test func namesCarryTheGeneration() {
        var cache = ServerStatementCache(capacity: 10)
        #expect(cache.generation == 0)
        #expect(cache.name(of: 5) == "pgswift_5")
        #expect(cache.insert(5) == nil)
        cache.removeAll()
        #expect(cache.generation == 1)
        #expect(cache.name(of: 5) == "pgswift_5_1")
        let holds = cache.use(5)
        #expect(!holds)
        cache.removeAll()
        #expect(cache.generation == 2)
        #expect(cache.name(of: 5) == "pgswift_5_2")
        #expect(cache.name(of: 12) == "pgswift_12_2")
        // Removing one statement changes no name.
        #expect(cache.insert(12) == nil)
        cache.remove(12)
        #expect(cache.generation == 2)
        #expect(cache.name(of: 12) == "pgswift_12_2")
    }
}
