// status_admin_token: the bearer token that requests changing the proxy over HTTP must carry.

enum AdminToken {
    /// Why a state-changing request is refused, or nil when its Authorization header carries the configured token.
    static func refusal(configured: String, authorization: String?) -> String? {
        guard !configured.isEmpty else { return "changes over HTTP are disabled: status_admin_token is not set" }
        guard let authorization, authorization.count > 7, authorization.prefix(7).lowercased() == "bearer " else {
            return "this request changes settings: send Authorization: Bearer <status_admin_token>"
        }
        return equalInConstantTime(Array(authorization.utf8.dropFirst(7)), Array(configured.utf8)) ? nil : "the bearer token is not status_admin_token"
    }

    /// Compares every byte whatever the first difference, so response times do not reveal a prefix of the token.
    static func equalInConstantTime(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var diff = UInt8(a.count == b.count ? 0 : 1)
        for i in 0..<max(a.count, b.count) {
            diff |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0)
        }
        return diff == 0
    }
}
