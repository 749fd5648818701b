// One kept answer in the in-process tier, with what CACHE INVALIDATE and SHOW CACHE match it by.
import NIOCore

struct CachedAnswer: Sendable {
    /// What the client gets, ReadyForQuery last.
    let bytes: ByteBuffer
    /// The PostgreSQL database it came from (host list and name: `CacheScope`).
    let scope: String
    /// Bare names of the tables it read.
    let tables: [String]
    let tags: [String]
    let fingerprint: UInt64?
}
