// ResponseOptimizer's settings, set in code or read from the environment (RESPONSE_* variables).

public struct ResponseOptimizerConfiguration: Sendable, Equatable {
    public var compressionEnabled: Bool
    /// Bodies smaller than this many bytes go out uncompressed (compression would cost more than it saves).
    public var compressionThreshold: Int
    /// Bodies larger than this (or of unknown length) are never held whole: they are streamed, compressed chunk by
    /// chunk, and get no body-derived ETag or field filtering.
    public var streamingThreshold: Int
    public var etagEnabled: Bool
    /// Codings offered, in the server's order of preference (used to break ties between equal q-values).
    public var codings: [ContentCoding]
    /// zlib level (1-9) for gzip and deflate, brotli quality (0-11) for br: mid values suit responses made per request.
    public var zlibLevel: Int
    public var brotliQuality: Int
    /// Compressed bodies kept by strong ETag and coding (0 turns the cache off), and the bytes they may hold together.
    public var compressedCacheEntries: Int
    public var compressedCacheBytes: Int

    public init(compressionEnabled: Bool = true, compressionThreshold: Int = 512, streamingThreshold: Int = 10 * 1024 * 1024,
                etagEnabled: Bool = true, codings: [ContentCoding] = [.br, .gzip, .deflate], zlibLevel: Int = 6, brotliQuality: Int = 5,
                compressedCacheEntries: Int = 64, compressedCacheBytes: Int = 8 * 1024 * 1024) {
        self.compressedCacheEntries = compressedCacheEntries
        self.compressedCacheBytes = compressedCacheBytes
        self.compressionEnabled = compressionEnabled
        self.compressionThreshold = compressionThreshold
        self.streamingThreshold = streamingThreshold
        self.etagEnabled = etagEnabled
        self.codings = codings
        self.zlibLevel = zlibLevel
        self.brotliQuality = brotliQuality
    }

    /// The defaults overridden by RESPONSE_COMPRESSION_ENABLED, RESPONSE_COMPRESSION_THRESHOLD,
    /// RESPONSE_STREAMING_THRESHOLD and RESPONSE_ETAG_ENABLED. Sizes are bytes, or a number with k, KiB, M, MiB.
    public init(environment: [String: String]) throws(ConfigurationError) {
        self.init()
        if let v = environment["RESPONSE_COMPRESSION_ENABLED"] { compressionEnabled = try Self.bool(v, "RESPONSE_COMPRESSION_ENABLED") }
        if let v = environment["RESPONSE_COMPRESSION_THRESHOLD"] { compressionThreshold = try Self.size(v, "RESPONSE_COMPRESSION_THRESHOLD") }
        if let v = environment["RESPONSE_STREAMING_THRESHOLD"] { streamingThreshold = try Self.size(v, "RESPONSE_STREAMING_THRESHOLD") }
        if let v = environment["RESPONSE_ETAG_ENABLED"] { etagEnabled = try Self.bool(v, "RESPONSE_ETAG_ENABLED") }
    }

    /// A variable that could not be read, named with the value it had.
    public struct ConfigurationError: Error, Equatable, CustomStringConvertible {
        public let variable: String
        public let value: String
        public let expected: String
        public var description: String { "\(variable)=\(value): expected \(expected)" }
    }

    static func bool(_ value: String, _ name: String) throws(ConfigurationError) -> Bool {
        switch value.trimmingCharacters(in: " \t").lowercased() {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default: throw ConfigurationError(variable: name, value: value, expected: "true or false (also 1/0, yes/no, on/off)")
        }
    }

    static func size(_ value: String, _ name: String) throws(ConfigurationError) -> Int {
        let v = value.trimmingCharacters(in: " \t").lowercased()
        let units: [(String, Int)] = [("kib", 1024), ("mib", 1 << 20), ("gib", 1 << 30), ("kb", 1000), ("mb", 1_000_000), ("gb", 1_000_000_000),
                                      ("k", 1024), ("m", 1 << 20), ("g", 1 << 30), ("b", 1)]
        var number = v
        var factor = 1
        for (suffix, f) in units where v.hasSuffix(suffix) {
            number = String(v.dropLast(suffix.count)).trimmingCharacters(in: " ")
            factor = f
            break
        }
        guard let n = Int(number), n >= 0, n <= Int.max / factor else {
            throw ConfigurationError(variable: name, value: value, expected: "a size in bytes (e.g. 512, 64k, 10MiB)")
        }
        return n * factor
    }
}
