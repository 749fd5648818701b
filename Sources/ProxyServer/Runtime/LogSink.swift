// A swift-log handler that writes PgBouncer-style lines to stderr and, when configured, the logfile.
import Foundation
import Logging
import NIOConcurrencyHelpers

public final class LogSink: Sendable {
    private let file = NIOLockedValueBox<FileHandle?>(nil)
    let quiet: Bool

    public init(logfile: String?, quiet: Bool) {
        self.quiet = quiet
        reopen(logfile)
    }

    /// Opens (or re-opens, after log rotation and SIGHUP) the logfile for appending.
    public func reopen(_ path: String?) {
        file.withLockedValue { handle in
            try? handle?.close()
            handle = nil
            guard let path, !path.isEmpty else { return }
            if !FileManager.default.fileExists(atPath: path) {
                _ = FileManager.default.createFile(atPath: path, contents: nil)
            }
            handle = FileHandle(forWritingAtPath: path)
            _ = try? handle?.seekToEnd()
        }
    }

    func write(_ line: String) {
        let data = Data(line.utf8)
        if !quiet { FileHandle.standardError.write(data) }
        file.withLockedValue { $0?.write(data) }
    }
}

public struct PgswiftLogHandler: LogHandler {
    let sink: LogSink
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]

    public init(sink: LogSink, level: Logger.Level) {
        self.sink = sink
        self.logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let word: String
        switch event.level {
        case .trace, .debug: word = "DEBUG"
        case .info, .notice: word = "LOG"
        case .warning: word = "WARNING"
        case .error, .critical: word = "ERROR"
        }
        let stamp = Self.timestamp()
        sink.write("\(stamp) [\(getpid())] \(word) \(event.message)\n")
    }

    static func timestamp() -> String {
        var tv = timeval()
        gettimeofday(&tv, nil)
        var t = time_t(tv.tv_sec)
        var parts = tm()
        gmtime_r(&t, &parts)
        return String(format: "%04d-%02d-%02d %02d:%02d:%02d.%03d UTC", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
                      Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), Int(tv.tv_usec) / 1000)
    }
}
