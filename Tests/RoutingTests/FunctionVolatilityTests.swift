// Which function calls may write under read/write splitting: the catalog's VOLATILE list and the two settings.
@testable import Routing
import SQLAnalysis
import Testing

@Suite("Function volatility")
struct FunctionVolatilityTests {
    static let v = FunctionVolatility(volatile: ["log_event", "touch"], writeFunctions: ["billing.charge"], readOnlyFunctions: ["touch"])

    @Test(arguments: [
        ("SELECT log_event('x')", true),
        ("SELECT audit.LOG_EVENT('x')", true),
        ("SELECT touch(1)", false),
        ("SELECT billing.charge(1)", true),
        ("SELECT charge(1)", false),
        ("SELECT lower(name), now() FROM t", false),
        ("SELECT count(*) FROM t WHERE touch(id) AND log_event('y')", true),
    ])
    func calls(_ sql: String, _ writes: Bool) {
        #expect(Self.v.mayWrite(StatementProfiler.profile(sql).functions) == writes)
    }

    @Test func theCatalogRowListsNames() {
        #expect(FunctionVolatility.names("a,b") == ["a", "b"])
        #expect(FunctionVolatility.names(nil).isEmpty)
    }
}
