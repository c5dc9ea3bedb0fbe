package dev.postern.tls;

import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import org.conscrypt.AllocatedBuffer;
import org.conscrypt.BufferAllocator;

/**
 * Direct buffers for Conscrypt's server sockets, shared by every session. Without an allocator each Conscrypt engine
 * keeps a 16 KiB direct buffer of its own for the whole connection, to pass heap buffers to BoringSSL; with one it
 * borrows a buffer for each wrap or unwrap and gives it back at once, so thousands of idle sessions share a handful.
 * (The socket's own plaintext buffer is borrowed for the connection's life and returned when it closes.)
 */
final class DirectBufferPool extends BufferAllocator {
    /** Holds any TLS record (16,709 bytes at most) or plaintext fragment (16,384); larger requests are not pooled. */
    static final int SIZE = 17 * 1024;

    private final ConcurrentLinkedQueue<ByteBuffer> free = new ConcurrentLinkedQueue<>();
    private final AtomicInteger freeCount = new AtomicInteger();
    private final int maxFree;

    /** @param maxFree how many returned buffers are kept for reuse; beyond that they are left to the GC */
    DirectBufferPool(int maxFree) {
        this.maxFree = maxFree;
    }

    /** The one pool of the listeners' Conscrypt sockets (at most 1 MiB kept idle). */
    static final DirectBufferPool SERVER = new DirectBufferPool(64);

    @Override public AllocatedBuffer allocateDirectBuffer(int capacity) {
        if (capacity > SIZE) return AllocatedBuffer.wrap(ByteBuffer.allocateDirect(capacity));
        ByteBuffer base = free.poll();
        if (base != null) freeCount.decrementAndGet();
        else base = ByteBuffer.allocateDirect(SIZE);
        return new Borrowed(base, capacity);
    }

    /** Returned buffers waiting for reuse (for tests). */
    int idle() { return freeCount.get(); }

    private void giveBack(ByteBuffer base) {
        if (freeCount.incrementAndGet() <= maxFree) {
            free.offer(base);
        } else {
            freeCount.decrementAndGet();
        }
    }

    /** A buffer of exactly the asked capacity (as a new one would be), cut from a pooled one. */
    private final class Borrowed extends AllocatedBuffer {
        private final ByteBuffer base;
        private final ByteBuffer view;
        private boolean released;

        Borrowed(ByteBuffer base, int capacity) {
            this.base = base;
            this.view = base.clear().slice(0, capacity);
        }

        @Override public ByteBuffer nioBuffer() { return view; }

        @Override public AllocatedBuffer release() {
            synchronized (this) {
                if (released) return this;
                released = true;
            }
            giveBack(base);
            return this;
        }
    }
}
