// Cost of a statement's profile (SQLAnalysis): a shape-cache hit, which every statement pays, and a miss, which
// runs PostgreSQL's parser (median of rounds, microseconds per statement).
//
//   swift run -c release ProfileBench [rounds]
import SQLAnalysis

let rounds = CommandLine.arguments.dropFirst().first.flatMap(Int.init) ?? 5
let clock = ContinuousClock()

/// Median microseconds per call of `body` over `count` calls, for `rounds` rounds.
func perCall(_ count: Int, _ body: (Int) -> Void) -> Double {
    var results: [Double] = []
    for _ in 0..<rounds {
        let d = clock.measure { for k in 0..<count { body(k) } }
        let seconds = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
        results.append(seconds * 1e6 / Double(count))
    }
    return results.sorted()[results.count / 2]
}

/// The statements pgbench runs (-S, then the tpcb-like script), and one an ORM might send, each with a fresh literal.
let statements: [(String, (Int) -> String)] = [
    ("pgbench -S select", { "SELECT abalance FROM pgbench_accounts WHERE aid = \($0 % 100_000 + 1);" }),
    ("tpcb update accounts", { "UPDATE pgbench_accounts SET abalance = abalance + \($0 % 5000 - 2500) WHERE aid = \($0 % 100_000 + 1);" }),
    ("tpcb insert history", { "INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (\($0 % 10), 1, \($0), \($0 % 5000), CURRENT_TIMESTAMP);" }),
    ("ORM join with comment", {
        "/* controller=orders,trace=\($0) */ SELECT o.id, o.total, c.name FROM orders o JOIN customers c ON c.id = o.customer_id "
            + "WHERE o.created_at > '2026-01-\($0 % 28 + 1)' AND c.region = 'eu-\($0 % 5)' ORDER BY o.total DESC LIMIT 50"
    }),
]

print("\(rounds) rounds, median shown; a hit includes taking the shape of the text")
print("| statement | bytes | hit µs | miss µs (parse, classify, fingerprint) |")
print("|---|---:|---:|---:|")
for (name, make) in statements {
    // Texts made before timing, so the loop measures the profile and not the string formatting.
    let texts = (0..<20_000).map(make)
    var cache = StatementProfiles()
    _ = cache.profile(texts[0])
    var reasons = 0
    let hit = perCall(texts.count) { k in
        if cache.profile(texts[k]).profile.primaryReason != nil { reasons += 1 }
    }
    // A miss each time: an empty cache per call, so the parser runs every time.
    let miss = perCall(2_000) { k in
        var fresh = StatementProfiles()
        if fresh.profile(texts[k]).profile.primaryReason != nil { reasons += 1 }
    }
    precondition(reasons >= 0)
    print("| \(name) | \(texts[1].utf8.count) | \(twoPlaces(hit)) | \(twoPlaces(miss)) |")
}

func twoPlaces(_ x: Double) -> String { "\((x * 100).rounded() / 100)" }
