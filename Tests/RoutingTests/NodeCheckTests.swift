// NodeCheck: reading a node's answer to the health check.
import Routing
import Testing

@Suite("Node check answers")
struct NodeCheckTests {
    @Test func aPrimaryAndAReplicaAreTold() {
        #expect(NodeCheck.observation(["f", "0/C6002120", "0"]) == NodeObservation(role: .primary, lsn: 0xC600_2120))
        #expect(NodeCheck.observation(["t", "16/B374D848", "1.25"]) == NodeObservation(role: .replica, lsn: 0x16_B374_D848, replayDelay: 1.25))
    }

    @Test func answersOfAnotherShapeAreRefused() {
        #expect(NodeCheck.observation(["t", "0/1"]) == nil)
        #expect(NodeCheck.observation(["x", "0/1", "0"]) == nil)
        #expect(NodeCheck.observation(["t", nil, "0"]) == nil)
        #expect(NodeCheck.observation(["t", "zz", "0"]) == nil)
    }

    @Test func walPositions() {
        #expect(NodeCheck.parseLSN("0/0") == 0)
        #expect(NodeCheck.parseLSN("FFFFFFFF/FFFFFFFF") == UInt64.max)
        #expect(NodeCheck.parseLSN("1/2/3") == nil)
        #expect(NodeCheck.lagBytes(primary: 100, replica: 40) == 60)
        #expect(NodeCheck.lagBytes(primary: 40, replica: 100) == 0)
    }
}
