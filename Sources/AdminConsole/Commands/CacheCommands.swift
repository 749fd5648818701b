// CACHE CLEAR and CACHE INVALIDATE TABLE t | TAG x | FINGERPRINT f | PATTERN p (pgswift's own): answers the result
// cache holds, dropped on an operator's word.
import Foundation
import PGWire

enum CacheClearCommand: AdminCommand {
    static let name = "CACHE CLEAR"

    static func run(_ call: AdminCall) async throws -> AdminReply {
        let n = try await call.runtime.cacheClear()
        call.runtime.logger.info("CACHE CLEAR from the admin console: \(n) answers dropped")
        return .done(tag: "CACHE CLEAR")
    }
}

enum CacheInvalidateCommand: AdminCommand {
    static let name = "CACHE INVALIDATE"
    static let argument = AdminArgument.required
    static let missingArgument: String? = "CACHE INVALIDATE needs TABLE name, TAG name, FINGERPRINT hex or PATTERN glob"

    static func run(_ call: AdminCall) async throws -> AdminReply {
        let parts = (call.argument ?? "").split(separator: " ", maxSplits: 1).map(String.init)
        guard parts.count == 2, let target = target(kind: parts[0], parts[1]) else {
            return .error(PGError(SQLState.protocolViolation, missingArgument ?? ""))
        }
        let n = try await call.runtime.cacheInvalidate(target)
        call.runtime.logger.info("CACHE INVALIDATE \(parts[0].uppercased()) \(parts[1]) from the admin console: \(n) answers dropped")
        return .done(tag: "CACHE INVALIDATE")
    }

    static func target(kind: String, _ value: String) -> AdminCacheTarget? {
        switch kind.uppercased() {
        case "TABLE": return .table(value)
        case "TAG": return .tag(value)
        case "FINGERPRINT": return UInt64(value.hasPrefix("0x") ? String(value.dropFirst(2)) : value, radix: 16).map(AdminCacheTarget.fingerprint)
        case "PATTERN": return .pattern(value)
        default: return nil
        }
    }
}
