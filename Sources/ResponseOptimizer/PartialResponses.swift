// `?fields=` on JSON responses: only the selected members go out; a malformed expression is a 400 that points at it.
import HTTPTypes
import Hummingbird
import NIOCore

enum PartialResponses {
    static func apply(to response: Response, request: Request, configuration: ResponseOptimizerConfiguration) async throws -> Response {
        guard request.uri.query?.contains("fields=") == true,
              let expression = request.uri.queryParameters["fields"].map(String.init), !expression.isEmpty else { return response }
        let selection: FieldSelection
        do {
            selection = try FieldSelection.parse(expression)
        } catch {
            return badRequest(error)
        }
        guard (200..<300).contains(response.status.code), isJSON(response.headers[.contentType]),
              response.headers[.contentEncoding] == nil,
              let body = try await response.collectedBody(limit: configuration.streamingThreshold) else { return response }
        guard let filtered = try? JSONFieldFilter.filter(Array(body.readableBytesView), selection) else {
            // Not the JSON it says it is: sent as the handler made it.
            var unchanged = response
            unchanged.body = ResponseBody(byteBuffer: body)
            return unchanged
        }
        var out = response
        out.body = ResponseBody(byteBuffer: ByteBuffer(bytes: filtered))
        // A body-derived tag from the handler would describe the whole document, not this part of it.
        out.headers[.eTag] = nil
        return out
    }

    static func isJSON(_ contentType: String?) -> Bool {
        guard let ct = contentType?.split(separator: ";").first?.trimmingSpaces().lowercased() else { return false }
        return ct == "application/json" || ct.hasSuffix("+json")
    }

    static func badRequest(_ error: FieldSelectionError) -> Response {
        let message = "invalid fields expression at character \(error.position): \(error.message)"
        var body = ByteBuffer()
        body.writeString("{\"error\":\(JSONText.quote(message)),\"position\":\(error.position),\"fields\":\(JSONText.quote(error.expression))}")
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: .badRequest, headers: headers, body: ResponseBody(byteBuffer: body))
    }

}
