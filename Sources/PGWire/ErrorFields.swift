// The field list of ErrorResponse and NoticeResponse, and the errors pgswift itself raises to clients.
import NIOCore

/// Ordered (code, value) pairs as on the wire; order is kept so a re-encode gives the same bytes.
public struct ErrorFields: Equatable, Sendable {
    public var fields: [(code: UInt8, value: String)]

    public init(_ fields: [(code: UInt8, value: String)]) {
        self.fields = fields
    }

    public static func == (lhs: ErrorFields, rhs: ErrorFields) -> Bool {
        lhs.fields.count == rhs.fields.count
            && zip(lhs.fields, rhs.fields).allSatisfy { $0.code == $1.code && $0.value == $1.value }
    }

    public subscript(code: Character) -> String? {
        let c = code.asciiValue!
        return fields.first { $0.code == c }?.value
    }

    public var sqlState: String? { self["C"] }
    public var message: String? { self["M"] }

    /// The fields of an ErrorResponse or NoticeResponse body; nil if it is malformed.
    public static func parse(_ body: ByteBuffer) -> ErrorFields? {
        var b = body
        return try? decode(&b)
    }

    static func decode(_ b: inout ByteBuffer) throws -> ErrorFields {
        var fields: [(code: UInt8, value: String)] = []
        while true {
            let code = try b.readUInt8("error field code")
            if code == 0 { break }
            fields.append((code, try b.readCString("error field value")))
        }
        return ErrorFields(fields)
    }

    func encode(into b: inout ByteBuffer) {
        for f in fields {
            b.writeInteger(f.code)
            b.writeCString(f.value)
        }
        b.writeInteger(UInt8(0))
    }
}

/// An error pgswift reports to a client, with the SQLSTATE the client will see.
public struct PGError: Error, Equatable, Sendable, CustomStringConvertible {
    public var severity: String
    public var sqlState: String
    public var message: String
    public var detail: String?
    public var hint: String?

    public init(_ sqlState: String, _ message: String, severity: String = Severity.error, detail: String? = nil, hint: String? = nil) {
        self.sqlState = sqlState
        self.message = message
        self.severity = severity
        self.detail = detail
        self.hint = hint
    }

    public var description: String { "\(severity) \(sqlState): \(message)" }

    public var fields: ErrorFields {
        var f: [(code: UInt8, value: String)] = [
            (UInt8(ascii: "S"), severity), (UInt8(ascii: "V"), severity),
            (UInt8(ascii: "C"), sqlState), (UInt8(ascii: "M"), message),
        ]
        if let detail { f.append((UInt8(ascii: "D"), detail)) }
        if let hint { f.append((UInt8(ascii: "H"), hint)) }
        return ErrorFields(f)
    }

    public func encode(into b: inout ByteBuffer) {
        BackendMessage.errorResponse(fields).encode(into: &b)
    }

    // SQLSTATEs pgswift raises, named as PostgreSQL names them.
    public static func invalidPassword(_ user: String) -> PGError {
        PGError(SQLState.invalidPassword, "password authentication failed for user \"\(user)\"", severity: Severity.fatal)
    }
    public static func invalidAuthorization(_ message: String) -> PGError {
        PGError(SQLState.invalidAuthorizationSpecification, message, severity: Severity.fatal)
    }
    public static func unknownDatabase(_ db: String) -> PGError {
        PGError(SQLState.invalidCatalogName, "no such database: \(db)", severity: Severity.fatal)
    }
    public static func tooManyClients(_ message: String = "no more connections allowed (max_client_conn)") -> PGError {
        PGError(SQLState.tooManyConnections, message, severity: Severity.fatal)
    }
    public static func serverUnreachable(_ message: String) -> PGError {
        PGError(SQLState.connectionFailure, message, severity: Severity.fatal)
    }
    public static func protocolViolation(_ message: String) -> PGError {
        PGError(SQLState.protocolViolation, message, severity: Severity.fatal)
    }
    public static func featureNotSupported(_ message: String) -> PGError {
        PGError(SQLState.featureNotSupported, message, severity: Severity.fatal)
    }
    public static func queryCanceled(_ message: String) -> PGError {
        PGError(SQLState.queryCanceled, message)
    }
    public static func adminShutdown(_ message: String) -> PGError {
        PGError(SQLState.adminShutdown, message, severity: Severity.fatal)
    }
    public static func loginTimeout() -> PGError {
        PGError(SQLState.protocolViolation, "client_login_timeout (server down or wrong password?)", severity: Severity.fatal)
    }
}
