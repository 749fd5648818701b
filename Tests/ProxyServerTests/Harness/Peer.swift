// The far end of one in-memory channel: the test writes what the peer would send and reads what the handler wrote.
import NIOCore
import NIOEmbedded

final class Peer {
    let channel: EmbeddedChannel
    /// Runs what the handlers handed each other: the peer's own loop, or every loop of a harness with several.
    private let runLoops: () -> Void

    init(_ channel: EmbeddedChannel, runLoops: (() -> Void)? = nil) {
        self.channel = channel
        self.runLoops = runLoops ?? { channel.embeddedEventLoop.run() }
    }

    /// One read from the socket: the handler gets the bytes and the end of the read, then the loop runs what the
    /// handlers handed each other with `execute` (as the next turn of a real loop would).
    func send(_ bytes: ByteBuffer) throws {
        try channel.writeInbound(bytes)
        runLoops()
    }

    /// Everything the handler wrote since the last look, as one buffer (a socket does not keep write boundaries).
    func received() -> ByteBuffer {
        var all = ByteBuffer()
        while var b = try? channel.readOutbound(as: ByteBuffer.self) { all.writeBuffer(&b) }
        return all
    }

    /// The peer's socket closed (PostgreSQL died, the client vanished): the handler sees its channel go inactive.
    func vanish() {
        channel.close(promise: nil)
        runLoops()
    }

    var isOpen: Bool { channel.isActive }
}
