// The pipeline stage that writes commands as they come and hands each reply to the oldest waiting command.
import NIOCore

/// A command on its way to the server. `replies` is how many replies it produces (SUBSCRIBE a b answers twice);
/// the promise completes with the last one.
struct RedisCommand: Sendable {
    var arguments: [ByteBuffer]
    var replies: Int = 1
    var deadline: NIODeadline?
    var promise: EventLoopPromise<RedisValue>
}

final class RedisChannelHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = RedisCommand
    typealias OutboundOut = ByteBuffer

    private struct Waiting {
        var promise: EventLoopPromise<RedisValue>
        var remaining: Int
        var deadline: NIODeadline?
    }

    private let decoder: RESPDecoder
    /// Given every reply first; returns true when it took it (a pub/sub message, which answers no command).
    private let push: ((RedisValue) -> Bool)?
    private var waiting = CircularBuffer<Waiting>()
    private var closed: RedisClientError?
    private var timer: Scheduled<Void>?
    private var timerDeadline: NIODeadline?

    init(push: ((RedisValue) -> Bool)? = nil) throws(RedisClientError) {
        decoder = try RESPDecoder()
        self.push = push
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let command = unwrapOutboundIn(data)
        if let closed {
            command.promise.fail(closed)
            promise?.fail(closed)
            return
        }
        var buffer = context.channel.allocator.buffer(capacity: RESPEncoder.encodedSize(command.arguments))
        RESPEncoder.write(command.arguments, into: &buffer)
        waiting.append(Waiting(promise: command.promise, remaining: max(1, command.replies), deadline: command.deadline))
        // Deadlines normally grow, so this arms only an idle timer; a shorter one (a command sent during the
        // handshake's longer deadline) pulls the timer in.
        if let deadline = command.deadline, timerDeadline.map({ deadline < $0 }) ?? true {
            timer?.cancel()
            armTimer(context: context, at: deadline)
        }
        context.write(wrapOutboundOut(buffer), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard closed == nil else { return }
        do {
            try decoder.feed(unwrapInboundIn(data))
            while let reply = try decoder.next() {
                deliver(reply, context: context)
            }
        } catch {
            shutDown(context: context, error: error)
        }
    }

    private func deliver(_ reply: RedisValue, context: ChannelHandlerContext) {
        if let push, push(reply) { return }
        guard var head = waiting.first else {
            // A reply nobody asked for: replies would from now on go to the wrong commands.
            shutDown(context: context, error: RedisClientError(.protocolError, "the server sent a reply no command was waiting for"))
            return
        }
        head.remaining -= 1
        if head.remaining > 0, reply.errorMessage == nil {
            waiting[waiting.startIndex] = head
            return
        }
        waiting.removeFirst()
        head.promise.succeed(reply)
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(RedisClientError(.connectionClosed, "the connection to the server closed"))
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        failAll(RedisClientError(.connectionClosed, "the connection to the server closed"))
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        shutDown(context: context, error: RedisClientError(.connectionClosed, "the connection failed: \(error)"))
    }

    /// Replies come in order, so once any waiting command's deadline passes the connection is stalled for all of
    /// them. One timer watches the earliest deadline; it is re-armed when it fires, not per command.
    private func armTimer(context: ChannelHandlerContext, at deadline: NIODeadline) {
        timerDeadline = deadline
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [weak self] in
            self?.timerFired(context: context)
        }
    }

    private func timerFired(context: ChannelHandlerContext) {
        timer = nil
        timerDeadline = nil
        // The scan runs once per firing, at most once per timeout period, not per reply.
        guard closed == nil, let deadline = waiting.lazy.compactMap(\.deadline).min() else { return }
        if deadline <= .now() {
            shutDown(context: context, error: RedisClientError(.timeout, "no reply from the server in time; the connection is closed"))
        } else {
            armTimer(context: context, at: deadline)
        }
    }

    /// Closes before failing the waiting commands, so a caller who sees the failure finds the connection closed.
    private func shutDown(context: ChannelHandlerContext, error: Error) {
        let failure = error as? RedisClientError ?? RedisClientError(.protocolError, "\(error)")
        let failed = takeWaiting(closing: failure)
        context.close(promise: nil)
        for entry in failed { entry.promise.fail(failure) }
    }

    private func failAll(_ error: RedisClientError) {
        for entry in takeWaiting(closing: error) { entry.promise.fail(error) }
    }

    private func takeWaiting(closing error: RedisClientError) -> CircularBuffer<Waiting> {
        if closed == nil { closed = error }
        timer?.cancel()
        timer = nil
        timerDeadline = nil
        defer { waiting.removeAll() }
        return waiting
    }
}
