// The content codings ResponseOptimizer can produce, and the choice among them from a request's Accept-Encoding.

/// A content coding (RFC 9110 section 8.4.1) this module can apply.
public enum ContentCoding: String, Sendable, CaseIterable {
    case br
    case gzip
    case deflate
    case identity
}

/// Accept-Encoding negotiation with q-values (RFC 9110 section 12.5.3).
public enum AcceptEncoding {
    /// The coding to use for a response, given the request's Accept-Encoding header values and the codings the
    /// server offers in its order of preference (ties in q-value go to the earlier one). nil header: identity, as
    /// most servers do. Identity when nothing offered is acceptable.
    public static func negotiate(_ header: String?, offered: [ContentCoding]) -> ContentCoding {
        guard let header else { return .identity }
        var weights: [String: Double] = [:]
        var star: Double?
        for item in header.split(separator: ",") {
            let parts = item.split(separator: ";")
            guard var name = parts.first.map({ $0.trimmingSpaces().lowercased() }), !name.isEmpty else { continue }
            if name == "x-gzip" { name = "gzip" }
            var q = 1.0
            for param in parts.dropFirst() {
                let kv = param.split(separator: "=", maxSplits: 1).map { $0.trimmingSpaces() }
                if kv.count == 2, kv[0].lowercased() == "q" { q = Double(kv[1]).map { min(max($0, 0), 1) } ?? 0 }
            }
            if name == "*" { star = max(star ?? 0, q) } else { weights[name] = max(weights[name] ?? 0, q) }
        }
        var best: (coding: ContentCoding, q: Double)?
        for coding in offered where coding != .identity {
            let q = weights[coding.rawValue] ?? star ?? 0
            if q > 0, best == nil || q > best!.q { best = (coding, q) }
        }
        // Identity is acceptable unless excluded, but has a preference only where the client states one
        // ("gzip;q=0.5, identity"); on a tie compressing is the better use of the wire.
        guard let best else { return .identity }
        if let identityQ = weights["identity"], identityQ > best.q { return .identity }
        return best.coding
    }
}

extension Substring {
    func trimmingSpaces() -> String {
        var s = self[...]
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}
