// Strong ETags from the body for GET and HEAD responses, and the If-None-Match / If-Match checks against them.
import HTTPTypes
import Hummingbird
import NIOCore

enum ETags {
    /// The response with an ETag (the handler's own, or the body's hash when the body is small enough to hold), and
    /// what the request's preconditions say about it (nil when there was nothing to check).
    static func tag(_ response: Response, request: Request, configuration: ResponseOptimizerConfiguration) async throws -> (Response, PreconditionOutcome?) {
        let method = request.method
        guard method == .get || method == .head, response.status == .ok else { return (response, nil) }
        // Nothing may keep a no-store response, so nothing will ask to revalidate it: hashing it would be wasted.
        if response.headers[.eTag] == nil, response.headers[.cacheControl].map({ HeaderText.contains($0, "no-store") }) == true { return (response, nil) }
        var out = response
        let current: EntityTag
        if let own = out.headers[.eTag] {
            guard let parsed = EntityTag(parsing: own) else { return (out, nil) }
            current = parsed
        } else {
            guard out.headers[.contentEncoding] == nil, let body = try await out.collectedBody(limit: configuration.streamingThreshold) else {
                return (out, nil)
            }
            current = EntityTag(body: body)
            out.headers[.eTag] = current.description
            out.body = ResponseBody(byteBuffer: body)
        }
        let ifMatch = request.headers[values: .ifMatch], ifNoneMatch = request.headers[values: .ifNoneMatch]
        guard !ifMatch.isEmpty || !ifNoneMatch.isEmpty else { return (out, nil) }
        let outcome = Preconditions.evaluate(method: method.rawValue, ifMatch: ifMatch.joinedOrNil, ifNoneMatch: ifNoneMatch.joinedOrNil,
                                             current: current)
        return (out, outcome)
    }
}
