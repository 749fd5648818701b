// Bodies above the streaming threshold go out chunked, piece by piece as the handler writes them.
import HTTPTypes
import Hummingbird
import NIOCore

enum Streaming {
    /// A body of known length above the threshold loses its Content-Length, so it is sent with chunked transfer
    /// coding as it is written (the handler's writer is used as it is: nothing here holds the body).
    static func apply(to response: Response, configuration: ResponseOptimizerConfiguration) -> Response {
        guard let length = response.body.contentLength, length > configuration.streamingThreshold else { return response }
        var out = response
        let body = response.body
        out.body = ResponseBody { writer in try await body.write(writer) }
        return out
    }
}
