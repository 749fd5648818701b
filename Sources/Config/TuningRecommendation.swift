// One piece of tuning advice about a setting: read by the status port's /tune and the admin console's SHOW TUNING.

public struct TuningRecommendation: Sendable, Equatable {
    public var setting: String
    public var current: String
    public var recommended: String
    public var reason: String
    /// Whether `?apply=true` may apply it as the admin console's SET would (a size or limit, nothing clients rely on).
    public var safe: Bool

    public init(setting: String, current: String, recommended: String, reason: String, safe: Bool) {
        self.setting = setting
        self.current = current
        self.recommended = recommended
        self.reason = reason
        self.safe = safe
    }
}
