// What POST /api/v1/performance/tune answers: the recommendations, and with ?apply=true which of them were applied.
import Config
import ResponseOptimizer

public struct TuningReport: Sendable, Equatable {
    public var recommendations: [TuningRecommendation]
    /// Settings changed by this request, with the value given and whether the config accepted it.
    public var applied: [(setting: String, value: String, error: String?)]

    public init(recommendations: [TuningRecommendation], applied: [(setting: String, value: String, error: String?)] = []) {
        self.recommendations = recommendations
        self.applied = applied
    }

    public static func == (a: TuningReport, b: TuningReport) -> Bool {
        a.recommendations == b.recommendations && a.applied.count == b.applied.count
            && zip(a.applied, b.applied).allSatisfy { $0.setting == $1.setting && $0.value == $1.value && $0.error == $1.error }
    }

    public func json(applyRequested: Bool) -> String {
        let recs = recommendations.map {
            #"{"setting":\#(JSONText.quote($0.setting)),"current":\#(JSONText.quote($0.current)),"#
                + #""recommended":\#(JSONText.quote($0.recommended)),"reason":\#(JSONText.quote($0.reason)),"safe":\#($0.safe)}"#
        }.joined(separator: ",")
        let done = applied.map {
            #"{"setting":\#(JSONText.quote($0.setting)),"value":\#(JSONText.quote($0.value)),"#
                + ($0.error.map { #""applied":false,"error":\#(JSONText.quote($0))"# } ?? #""applied":true"#) + "}"
        }.joined(separator: ",")
        return #"{"recommendations":[\#(recs)],"apply":\#(applyRequested),"applied":[\#(done)]}"#
    }
}
