// The SQLSTATE codes and severities pgswift sends or looks for, named as PostgreSQL's errcodes.txt names them.

/// Only the codes pgswift uses; a server's own errors pass through with whatever code they carry.
public enum SQLState {
    public static let successfulCompletion = "00000"
    public static let connectionFailure = "08006"
    public static let protocolViolation = "08P01"
    public static let featureNotSupported = "0A000"
    public static let readOnlySQLTransaction = "25006"
    public static let inFailedSQLTransaction = "25P02"
    public static let invalidSQLStatementName = "26000"
    public static let invalidAuthorizationSpecification = "28000"
    public static let invalidPassword = "28P01"
    public static let invalidCatalogName = "3D000"
    public static let syntaxError = "42601"
    public static let duplicatePreparedStatement = "42P05"
    public static let tooManyConnections = "53300"
    public static let queryCanceled = "57014"
    public static let adminShutdown = "57P01"
    public static let configFileError = "F0000"
    public static let internalError = "XX000"
}

/// The severities of ErrorResponse and NoticeResponse (field S, and V, which is never translated).
public enum Severity {
    public static let error = "ERROR"
    public static let fatal = "FATAL"
    public static let panic = "PANIC"
    public static let notice = "NOTICE"
}
