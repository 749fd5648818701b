// What a server speaking protocol 3.0 and no protocol options answers a StartupMessage, byte for byte as PostgreSQL 15.

public enum ProtocolNegotiation {
    static let newestMajor: UInt16 = 3
    static let newestMinor: UInt16 = 0
    /// The newest version pgswift speaks, in the form PostgreSQL sends it: major in the high 16 bits, minor below.
    public static let newestVersion = Int32(newestMajor) << 16 | Int32(newestMinor)
    /// Startup parameters under this prefix are protocol options, never settings.
    public static let optionPrefix = "_pq_."

    public enum Outcome: Equatable, Sendable {
        /// The login goes on; a NegotiateProtocolVersion, when there is one, goes out before authentication begins.
        case accept(BackendMessage?)
        /// A major version pgswift does not speak: the text of the FATAL (0A000) PostgreSQL sends.
        case refuse(String)
    }

    public static func isProtocolOption(_ name: String) -> Bool {
        name.hasPrefix(optionPrefix)
    }

    /// pgswift knows no protocol option, so every `_pq_.` name is listed back in the order sent, as PostgreSQL lists
    /// those it does not know; the message goes out whenever the client asked for a newer minor or sent any option.
    public static func answer(major: UInt16, minor: UInt16, parameterNames: [String]) -> Outcome {
        guard major == newestMajor else {
            return .refuse("unsupported frontend protocol \(major).\(minor): server supports \(newestMajor).0 to \(newestMajor).\(newestMinor)")
        }
        let unknown = parameterNames.filter(isProtocolOption)
        guard minor > newestMinor || !unknown.isEmpty else { return .accept(nil) }
        return .accept(.negotiateProtocolVersion(newestVersion: newestVersion, unrecognizedOptions: unknown))
    }
}
