// Transaction mode: SQL a client sends that may change its session (settings follow it; LISTEN, locks... pin it).
import NIOCore
import PGWire
import SQLAnalysis

extension ClientSession {
    /// Notes whether a Query, or the statement a Parse prepares or a Bind runs, may change the session, so the
    /// server is probed before it goes back. Returns what the SQL may do, if anything.
    mutating func inspect<Catalog: StatementInterning>(_ type: UInt8, _ body: ByteBuffer, catalog: Catalog) -> SessionStateScan.Effect? {
        var found: SessionStateScan.Effect?
        var changesSchema = false
        body.withUnsafeReadableBytes { raw in
            if type == FrontendMessage.Code.bind {
                // Bind: portal, then the statement's name; a statement whose text may change the session does so each run.
                guard let portalEnd = raw.firstIndex(of: 0) else { return }
                let rest = raw[(portalEnd + 1)...]
                guard let nameEnd = rest.firstIndex(of: 0),
                      let names = sessionStatements[String(decoding: rest[rest.startIndex..<nameEnd], as: UTF8.self)] else { return }
                probeAfter = true
                customSettingNames.formUnion(names)
                return
            }
            var start = 0
            var name: String?
            if type == FrontendMessage.Code.parse {
                guard let nameEnd = raw.firstIndex(of: 0) else { return }
                name = String(decoding: raw[..<nameEnd], as: UTF8.self)
                start = nameEnd + 1
            }
            let rest = UnsafeRawBufferPointer(rebasing: raw[start...])
            let end = rest.firstIndex(of: 0) ?? rest.count
            // Only the held Query's own words: a Parse, or any frame after it, is scanned afresh.
            var known: SessionStateScan.Words?
            if type == FrontendMessage.Code.query, let words = heldWords {
                known = words
                heldWords = nil
            }
            let (effect, schema) = SessionStateScan.classify(UnsafeRawBufferPointer(rebasing: rest[..<end]), known: known)
            changesSchema = schema
            if schema && SessionStateScan.mayChangeFunctions(UnsafeRawBufferPointer(rebasing: rest[..<end])) { sentDDL = true }
            guard let effect else {
                if let name { sessionStatements[name] = nil }
                return
            }
            probeAfter = true
            found = effect
            customSettingNames.formUnion(effect.customSettings)
            if let name { sessionStatements[name] = effect.customSettings }
        }
        if carriesStatements && changesSchema { catalog.schemaChanged() }
        return found
    }

    /// What replaces a Query or Parse whose SQL would pin the client when pinning is refused: the same message with
    /// SQL that has the server raise the error, so the transaction fails there as any failed statement would.
    static func refusal(_ type: UInt8, _ body: ByteBuffer) -> (frame: ByteBuffer, body: ByteBuffer, name: String) {
        let raise = RaisedError.sql(sqlState: SQLState.featureNotSupported, message: "statements that keep state on one server (LISTEN, session "
            + "advisory locks, WITH HOLD cursors, temporary tables, PREPARE) are not allowed in transaction pooling (session_pinning = refuse)")
        var newBody = ByteBufferAllocator().buffer(capacity: raise.utf8.count + 64)
        var name = ""
        if type == FrontendMessage.Code.parse {
            var rest = body
            name = rest.readNullTerminatedString() ?? ""
            _ = rest.readNullTerminatedString()
            newBody.writeNullTerminatedString(name)
            newBody.writeNullTerminatedString(raise)
            newBody.writeImmutableBuffer(rest)
        } else {
            newBody.writeNullTerminatedString(raise)
        }
        return (ServerSession.frame(type, newBody), newBody, name)
    }
}
