// The whole stack as one Hummingbird middleware: field filtering, then ETag and preconditions, then compression.
import HTTPTypes
import Hummingbird
import NIOCore

/// Add it once (`router.add(middleware: ResponseOptimizerMiddleware(configuration: ...))`); each part can be
/// switched off in the configuration. `version`, if given, returns the current version of the resource a request
/// names (nil when it has none): preconditions are then checked before the handler runs, so a 304 or 412 costs
/// nothing to compute.
public struct ResponseOptimizerMiddleware<Context: RequestContext>: RouterMiddleware {
    public let configuration: ResponseOptimizerConfiguration
    public let version: (@Sendable (Request, Context) async throws -> String?)?
    let representations: CompressedRepresentations

    public init(configuration: ResponseOptimizerConfiguration = .init(),
                version: (@Sendable (Request, Context) async throws -> String?)? = nil) {
        self.configuration = configuration
        self.version = version
        self.representations = CompressedRepresentations(maxEntries: configuration.compressedCacheEntries,
                                                         maxBytes: configuration.compressedCacheBytes)
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var early: EntityTag?
        if configuration.etagEnabled, let version, let v = try await version(request, context) {
            let tag = EntityTag(version: v)
            switch evaluate(request, tag) {
            case .proceed: early = tag
            case .notModified: return notModified(tag, coding: negotiated(request))
            case .preconditionFailed: return Response(status: .preconditionFailed)
            }
        }
        var response = try await next(request, context)
        response = try await PartialResponses.apply(to: response, request: request, configuration: configuration)
        if configuration.etagEnabled, let tag = early {
            response.headers[.eTag] = tag.description
        }
        // A tag hashed from these very bytes keys the compressed copy alone; the application's own tags only within
        // their URL (query included: fields= changes the bytes, not the version).
        var hashed = false
        if configuration.etagEnabled, early == nil {
            let hadTag = response.headers[.eTag] != nil
            let (tagged, outcome) = try await ETags.tag(response, request: request, configuration: configuration)
            hashed = !hadTag && tagged.headers[.eTag] != nil
            response = tagged
            if let outcome, outcome != .proceed, let tag = response.headers[.eTag].flatMap(EntityTag.init(parsing:)) {
                if outcome == .preconditionFailed { return Response(status: .preconditionFailed) }
                return notModified(tag, coding: negotiated(request), from: response)
            }
        }
        response = try await Compression.apply(to: response, request: request, configuration: configuration, cache: representations,
                                               scopedToURL: !hashed)
        return Streaming.apply(to: response, configuration: configuration)
    }

    private func evaluate(_ request: Request, _ tag: EntityTag) -> PreconditionOutcome {
        Preconditions.evaluate(method: request.method.rawValue, ifMatch: request.headers[values: .ifMatch].joinedOrNil,
                               ifNoneMatch: request.headers[values: .ifNoneMatch].joinedOrNil, current: tag)
    }

    private func negotiated(_ request: Request) -> ContentCoding {
        guard configuration.compressionEnabled else { return .identity }
        return AcceptEncoding.negotiate(request.headers[values: .acceptEncoding].joinedOrNil, offered: configuration.codings)
    }

    /// 304 carries the tag the client would have got (coded as the full response would have been) and no body.
    private func notModified(_ tag: EntityTag, coding: ContentCoding, from response: Response? = nil) -> Response {
        var headers = HTTPFields()
        headers[.eTag] = tag.coded(coding).description
        if let response {
            for name in [HTTPField.Name.cacheControl, .contentLocation, .date, .expires, .vary] {
                if let v = response.headers[name] { headers[name] = v }
            }
        }
        if configuration.compressionEnabled { Compression.addVary(&headers) }
        return Response(status: .notModified, headers: headers)
    }
}

extension Array where Element == String {
    var joinedOrNil: String? { isEmpty ? nil : joined(separator: ", ") }
}
