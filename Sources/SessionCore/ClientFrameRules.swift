// The frame rules of a client's splitter, built once per kind of client and max_packet_size and shared by all of them.
import PGWire
import Synchronization

enum ClientFrameRules {
    private struct Key: Hashable {
        var mode: PoolMode
        var carriesStatements: Bool
        var maxFrameLength: Int
    }

    /// A handful of entries at most (three kinds, times each max_packet_size a reload has set).
    private static let shared = Mutex<[Key: FrameRules]>([:])

    static func rules(mode: PoolMode, carriesStatements: Bool, maxFrameLength: Int) -> FrameRules {
        let key = Key(mode: mode, carriesStatements: carriesStatements, maxFrameLength: maxFrameLength)
        return shared.withLock { table in
            if let rules = table[key] { return rules }
            let observed: [UInt8] = mode == .session ? [] : carriesStatements ? StatementRewriter.types
                : ClientSession.inspectedTypes + ClientSession.countedTypes
            let rules = FrameRules(
                intercept: FrameTypeSet([FrontendMessage.Code.terminate]),
                observe: FrameTypeSet(observed),
                count: ClientSession.requestFrames,
                bounded: FrameTypeSet([FrontendMessage.Code.query, FrontendMessage.Code.parse, FrontendMessage.Code.bind, FrontendMessage.Code.functionCall]),
                maxFrameLength: maxFrameLength)
            table[key] = rules
            return rules
        }
    }
}
