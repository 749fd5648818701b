// Compression ratio and throughput of ResponseOptimizer's encoders on a 100 KiB JSON body (median of rounds).
//
//   swift run -c release CompressionBench [rounds]
import Foundation
import NIOCore
import ResponseOptimizer

/// About 100 KiB of JSON shaped like an API listing (repetitive keys, varied values).
func sampleJSON() -> ByteBuffer {
    var items: [String] = []
    var i = 0
    var size = 2
    while size < 100 * 1024 {
        let item = #"{"id":\#(i),"sku":"SKU-\#(i * 7919 % 100_000)","name":"product \#(i)","price":\#(Double(i % 997) * 1.37),"#
            + #""in_stock":\#(i % 3 != 0),"tags":["tag\#(i % 11)","tag\#(i % 17)"],"owner":{"name":"owner \#(i % 23)","email":"owner\#(i % 23)@example.com"}}"#
        items.append(item)
        size += item.utf8.count + 1
        i += 1
    }
    return ByteBuffer(string: "[" + items.joined(separator: ",") + "]")
}

let rounds = CommandLine.arguments.dropFirst().first.flatMap(Int.init) ?? 5
let body = sampleJSON()
let clock = ContinuousClock()
print("body: \(body.readableBytes) bytes of JSON; \(rounds) rounds, median shown")
print("| coding | level | compressed bytes | ratio | MB/s (compress) |")
print("|---|---:|---:|---:|---:|")
for (coding, level) in [(ContentCoding.br, 5), (.br, 11), (.gzip, 6), (.gzip, 1), (.deflate, 6)] {
    var rates: [Double] = []
    var compressed = 0
    for _ in 0..<rounds {
        // Enough repetitions per round for about half a second of work at the slowest setting measured.
        let reps = coding == .br && level == 11 ? 4 : 60
        let start = clock.now
        for _ in 0..<reps {
            let out = try BodyEncoders.compress(body, as: coding, level: level, brotliQuality: level)
            compressed = out.readableBytes
        }
        let elapsed = clock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        rates.append(Double(body.readableBytes * reps) / seconds / 1e6)
    }
    rates.sort()
    let ratio = Double(body.readableBytes) / Double(compressed)
    print("| \(coding.rawValue) | \(level) | \(compressed) | \(String(format: "%.1f", ratio)) | \(String(format: "%.1f", rates[rates.count / 2])) |")
}
