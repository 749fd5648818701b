// Several embedded event loops as one EventLoopGroup, so the runtime spreads clients and servers over them.
import Dispatch
import NIOCore
import NIOEmbedded

final class EmbeddedLoops: EventLoopGroup, @unchecked Sendable {
    let loops: [EmbeddedEventLoop]

    init(_ loops: [EmbeddedEventLoop]) {
        self.loops = loops
    }

    func next() -> EventLoop { loops[0] }

    func makeIterator() -> EventLoopIterator { EventLoopIterator(loops) }

    func shutdownGracefully(queue: DispatchQueue, _ callback: @escaping @Sendable (Error?) -> Void) {
        for loop in loops { try? loop.syncShutdownGracefully() }
        queue.async { callback(nil) }
    }
}
