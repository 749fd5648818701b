// The per-response header checks that compare bytes instead of building lower-cased strings.
@testable import ResponseOptimizer
import Testing

@Suite struct HeaderTextTests {
    static let types: [(String?, Bool)] = [
        ("application/json", true), ("application/json; charset=utf-8", true), ("  Application/JSON ;q=1", true),
        ("text/html", true), ("image/svg+xml", true), ("IMAGE/SVG+XML; charset=utf-8", true),
        ("image/png", false), ("Image/PNG", false), ("video/mp4", false), ("audio/ogg", false), ("application/zip", false),
        ("APPLICATION/GZIP", false), ("font/woff2", false), ("application/octet-stream; x=y", false), ("", false), (nil, false),
    ]

    @Test(arguments: types.indices) func compressibleTypes(_ i: Int) {
        let (type, expected) = Self.types[i]
        #expect(Compression.isCompressible(type) == expected, "\(type ?? "nil")")
    }

    @Test func containsIgnoresCase() {
        #expect(HeaderText.contains("private, No-Store", "no-store"))
        #expect(HeaderText.contains("no-transform", "no-transform"))
        #expect(!HeaderText.contains("no-cache", "no-store"))
        #expect(!HeaderText.contains("no", "no-store"))
        #expect(HeaderText.contains("max-age=0, NO-TRANSFORM", "no-transform"))
    }
}
