// NodeCheck: reading a node's answer to the health check.
import Routing
import Testing

@Suite("Node check answers")
struct NodeCheckTests {
    @Test func aPrimaryAndAReplicaAreTold() {
        #expect(NodeCheck.observation(["f", "0/C6002120", "0", "1"]) == NodeObservation(role: .primary, lsn: 0xC600_2120, timeline: 1))
        #expect(NodeCheck.observation(["t", "16/B374D848", "1.25", "2"])
                == NodeObservation(role: .replica, lsn: 0x16_B374_D848, replayDelay: 1.25, timeline: 2))
        // A replica whose WAL receiver is down: no timeline.
        #expect(NodeCheck.observation(["t", "0/1", "0", nil])?.timeline == nil)
    }

    @Test func answersOfAnotherShapeAreRefused() {
        #expect(NodeCheck.observation(["t", "0/1", "0"]) == nil)
        #expect(NodeCheck.observation(["x", "0/1", "0", "1"]) == nil)
        #expect(NodeCheck.observation(["t", nil, "0", "1"]) == nil)
        #expect(NodeCheck.observation(["t", "zz", "0", "1"]) == nil)
    }

    @Test func walPositions() {
        #expect(NodeCheck.parseLSN("0/0") == 0)
        #expect(NodeCheck.parseLSN("FFFFFFFF/FFFFFFFF") == UInt64.max)
        #expect(NodeCheck.parseLSN("1/2/3") == nil)
        #expect(NodeCheck.lsnText(0x16_B374_D848) == "16/B374D848" && NodeCheck.lsnText(0) == "0/0")
        #expect(NodeCheck.lagBytes(primary: 100, replica: 40) == 60)
        #expect(NodeCheck.lagBytes(primary: 40, replica: 100) == 0)
    }
}

@Suite("Fencing after a failover")
struct FencingTests {
    @Test func nodesOnAnOlderTimelineAreStaleInReadingsTakenAfterTheNewestAppeared() {
        // Timeline 2 first seen at 10. The old primary (read at 11 on timeline 1) and a replica still following it
        // are stale; one whose receiver is down is left alone.
        #expect(Fencing.stale([(1, 11), (1, 12), (2, 10), nil], newestSince: 10) == [0, 1])
        // A reading from before timeline 2 appeared says nothing of now.
        #expect(Fencing.stale([(1, 9), (2, 10)], newestSince: 10).isEmpty)
        #expect(Fencing.stale([(3, 5), (3, 6)], newestSince: 4).isEmpty)
        #expect(Fencing.stale([nil], newestSince: 0).isEmpty)
    }

    @Test func lagIsMeasuredAgainstTheCurrentPrimary() {
        let old = NodeObservation(role: .primary, lsn: 900, timeline: 1), promoted = NodeObservation(role: .primary, lsn: 500, timeline: 2)
        let replica = NodeObservation(role: .replica, lsn: 450, timeline: 2)
        #expect(NodeCheck.primaryPosition([old, promoted, replica], closed: [false, false, false]) == 500)
        // The old primary fenced, and the new one's check failed: no position to measure against.
        #expect(NodeCheck.primaryPosition([old, nil, replica], closed: [true, false, false]) == nil)
        #expect(NodeCheck.primaryPosition([old, nil, replica], closed: [false, false, false]) == 900)
    }
}
