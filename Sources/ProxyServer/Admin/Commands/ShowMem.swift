// SHOW MEM: pgswift's live objects by kind, with the heap bytes one of them takes (malloc's usable size).
import Foundation
import NIOCore

/// PgBouncer reports its slab caches; pgswift allocates with malloc and keeps no free lists, so `free` is 0 and
/// `size` is what malloc really reserved for one live object of the kind (0 when none is alive to measure).
enum ShowMem: AdminCommand {
    static let name = "SHOW MEM"

    private struct Kind: Sendable {
        var name: String
        var size: Int
        var used: Int
    }

    static func run(_ call: AdminCall) -> EventLoopFuture<AdminReply> {
        let runtime = call.runtime
        return runtime.gather { loop -> [Kind] in
            [Kind(name: "client_cache", size: loop.clients.values.first.map(heapSize) ?? 0, used: loop.clients.count),
             Kind(name: "server_cache", size: loop.servers.values.first.map(heapSize) ?? 0, used: loop.servers.count),
             Kind(name: "server_prepared_statement_cache", size: 0,
                  used: loop.servers.values.reduce(0) { $0 + ($1.statementsIfOwned?.count ?? 0) })]
        }.map { parts in
            var t = AdminTable([("name", .text), ("size", .int4), ("used", .int4), ("free", .int4), ("memtotal", .int4)])
            let pools = runtime.allPools
            var rows = [Kind(name: "pool_cache", size: pools.first.map(heapSize) ?? 0, used: pools.count)]
            for name in ["server_cache", "client_cache", "server_prepared_statement_cache"] {
                let same = parts.filter { $0.name == name }
                rows.append(Kind(name: name, size: same.map(\.size).max() ?? 0, used: same.reduce(0) { $0 + $1.used }))
            }
            for r in rows { t.add([.text(r.name), .int(r.size), .int(r.used), 0, .int(r.size * r.used)]) }
            return .table(t)
        }
    }

    /// The bytes malloc reserved for one object.
    private static func heapSize(_ object: AnyObject) -> Int {
        let pointer = Unmanaged.passUnretained(object).toOpaque()
        #if os(Linux)
        return usableSize(pointer)
        #else
        return Int(malloc_size(pointer))
        #endif
    }
}

#if os(Linux)
/// glibc's malloc_usable_size (declared in <malloc.h>, which the Glibc module does not export).
@_silgen_name("malloc_usable_size")
private func usableSize(_ pointer: UnsafeMutableRawPointer) -> Int
#endif
