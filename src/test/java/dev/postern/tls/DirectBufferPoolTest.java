package dev.postern.tls;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.List;
import org.conscrypt.AllocatedBuffer;
import org.junit.jupiter.api.Test;

/** The pool Conscrypt's server engines take their direct buffers from (issue 14: native memory per connection). */
class DirectBufferPoolTest {
    @Test void aReleasedBufferIsReusedAndADoubleReleaseGivesItBackOnce() {
        DirectBufferPool pool = new DirectBufferPool(4);
        AllocatedBuffer first = pool.allocateDirectBuffer(100);
        ByteBuffer b = first.nioBuffer();
        assertThat(b.isDirect()).isTrue();
        assertThat(b.position()).isZero();
        assertThat(b.remaining()).isEqualTo(100);
        b.put((byte) 1);
        first.release();
        first.release();
        assertThat(pool.free()).isEqualTo(1);
        AllocatedBuffer second = pool.allocateDirectBuffer(DirectBufferPool.BUFFER_SIZE);
        assertThat(second.nioBuffer()).isSameAs(b);
        assertThat(second.nioBuffer().position()).isZero();
        assertThat(second.nioBuffer().remaining()).isEqualTo(DirectBufferPool.BUFFER_SIZE);
        assertThat(pool.free()).isZero();
    }

    @Test void keepsAtMostItsBoundAndNeverKeepsAnOversizedBuffer() {
        DirectBufferPool pool = new DirectBufferPool(2);
        List<AllocatedBuffer> taken = List.of(pool.allocateDirectBuffer(10), pool.allocateDirectBuffer(10),
                pool.allocateDirectBuffer(10));
        taken.forEach(AllocatedBuffer::release);
        assertThat(pool.free()).isEqualTo(2);
        AllocatedBuffer big = pool.allocateDirectBuffer(DirectBufferPool.BUFFER_SIZE + 1);
        assertThat(big.nioBuffer().remaining()).isEqualTo(DirectBufferPool.BUFFER_SIZE + 1);
        big.release();
        assertThat(pool.free()).isEqualTo(2);
        assertThat(pool.uses()).isEqualTo(4);
    }
}
