package dev.postern.tls;

import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import org.conscrypt.AllocatedBuffer;
import org.conscrypt.BufferAllocator;

/**
 * Direct buffers for Conscrypt's engines, reused. Without an allocator every Conscrypt engine allocates its own 16 KiB
 * direct buffer to copy heap data through to BoringSSL; with one connection per message those buffers are garbage
 * within a second, but their native memory is given back only when a GC finds their (small) heap objects, often in the
 * old generation: 40 MiB of native memory at 20 sessions (issue 14). With an allocator an engine takes a buffer for
 * each wrap or unwrap and releases it before returning; the socket's input stream holds one for the connection's life
 * and gives it back when the socket closes, so a closed connection's native memory is reused at once instead of
 * waiting for a GC.
 */
final class DirectBufferPool extends BufferAllocator {
    /** BoringSSL's largest record (SSL3_RT_MAX_PACKET_SIZE), what Conscrypt asks for at most in practice. */
    static final int BUFFER_SIZE = 16_709;
    static final DirectBufferPool SHARED = new DirectBufferPool(64);

    private final ConcurrentLinkedQueue<ByteBuffer> free = new ConcurrentLinkedQueue<>();
    private final AtomicInteger freeCount = new AtomicInteger();
    private final int maxFree;
    private final LongAdder uses = new LongAdder();

    DirectBufferPool(int maxFree) {
        this.maxFree = maxFree;
    }

    @Override
    public AllocatedBuffer allocateDirectBuffer(int capacity) {
        uses.increment();
        if (capacity > BUFFER_SIZE) return AllocatedBuffer.wrap(ByteBuffer.allocateDirect(capacity)); // rare: not kept
        ByteBuffer buffer = free.poll();
        if (buffer == null) buffer = ByteBuffer.allocateDirect(BUFFER_SIZE);
        else freeCount.decrementAndGet();
        buffer.clear().limit(capacity);
        return new Pooled(buffer);
    }

    /** Buffers waiting to be reused (for tests). */
    int free() {
        return freeCount.get();
    }

    /** Buffers handed out so far (for tests). */
    long uses() {
        return uses.sum();
    }

    private void giveBack(ByteBuffer buffer) {
        if (freeCount.incrementAndGet() <= maxFree) free.offer(buffer);
        else freeCount.decrementAndGet(); // enough kept: this one goes to the GC
    }

    /** One use of a pooled buffer; releasing it twice gives it back once. */
    private final class Pooled extends AllocatedBuffer {
        private ByteBuffer buffer;

        Pooled(ByteBuffer buffer) {
            this.buffer = buffer;
        }

        @Override
        public synchronized ByteBuffer nioBuffer() {
            return buffer;
        }

        @Override // synchronized: a second release, from whatever thread, must not give the buffer back twice
        public synchronized AllocatedBuffer release() {
            ByteBuffer b = buffer;
            buffer = null;
            if (b != null) giveBack(b);
            return this;
        }
    }
}
