import Foundation
import NIOCore
import NIOTLS

/// The last handler of a `TLSTransport`'s channel: queues the bytes the TLS handler decrypted
/// until the blocking reader takes them, notes the end of the handshake, the first error and the
/// close, and holds back reading from the socket while `highWater` bytes wait, so a peer that
/// sends faster than Cairn stores (a replication payload) does not fill memory.
///
/// The event loop calls the handler methods; the reader calls `take` and `waitForHandshake`.
/// Everything they share is under `condition`.
final class TLSInbox: ChannelDuplexHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Bytes queued before reading pauses: a few of the reader's 64 KiB fills, a few dozen TLS records.
    static let highWater = 1 << 20

    enum Taken {
        /// `count` bytes were copied; `resumeReading`: reading had paused and may go on (call `channel.read()`).
        case bytes(count: Int, resumeReading: Bool)
        case closed
        case failed(any Error)
        case timedOut
    }

    private let condition = NSCondition()
    private var queue = CircularBuffer<ByteBuffer>()
    private var queuedBytes = 0
    private var readingPaused = false
    private var handshakeCompleted = false
    private var failure: (any Error)?
    private var closed = false

    // MARK: event loop

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        update { queue.append(bytes); queuedBytes += bytes.readableBytes }
    }

    func read(context: ChannelHandlerContext) {
        condition.lock()
        let pause = queuedBytes >= Self.highWater
        if pause { readingPaused = true }
        condition.unlock()
        if !pause { context.read() }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSUserEvent, case .handshakeCompleted = event { update { handshakeCompleted = true } }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        update { if failure == nil { failure = error } }
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        update { closed = true }
        context.fireChannelInactive()
    }

    private func update(_ change: () -> Void) {
        condition.lock()
        change()
        condition.broadcast()
        condition.unlock()
    }

    // MARK: reader

    /// The first error the channel saw, if any: the cause behind a failed write.
    var firstError: (any Error)? {
        condition.lock(); defer { condition.unlock() }
        return failure
    }

    /// Waits until the handshake completed (nil), or returns why it did not.
    func waitForHandshake(until deadline: Date) -> Taken? {
        condition.lock(); defer { condition.unlock() }
        while !handshakeCompleted && failure == nil && !closed {
            if !condition.wait(until: deadline) && !handshakeCompleted && failure == nil && !closed { return .timedOut }
        }
        if handshakeCompleted { return nil }
        return failure.map { .failed($0) } ?? .closed
    }

    /// Copies up to `buffer.count` queued bytes, waiting for some until `deadline`. Bytes that
    /// arrived before an error or the close are taken first.
    func take(into buffer: UnsafeMutableRawBufferPointer, until deadline: Date) -> Taken {
        condition.lock(); defer { condition.unlock() }
        while queue.isEmpty && failure == nil && !closed {
            if !condition.wait(until: deadline) && queue.isEmpty && failure == nil && !closed { return .timedOut }
        }
        guard !queue.isEmpty else { return failure.map { .failed($0) } ?? .closed }
        let count = queue[queue.startIndex].readWithUnsafeReadableBytes { bytes in
            let count = min(buffer.count, bytes.count)
            buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes.prefix(count)))
            return count
        }
        if queue[queue.startIndex].readableBytes == 0 { queue.removeFirst() }
        queuedBytes -= count
        let resume = readingPaused && queuedBytes < Self.highWater
        if resume { readingPaused = false }
        return .bytes(count: count, resumeReading: resume)
    }
}
