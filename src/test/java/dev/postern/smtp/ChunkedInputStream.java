package dev.postern.smtp;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.util.Random;

/** Hands out its bytes a few at a time, like a slow socket, to shake out buffer-boundary bugs. */
final class ChunkedInputStream extends InputStream {
    private final ByteArrayInputStream data;
    private final Random random;
    private final int maxChunk;

    ChunkedInputStream(byte[] bytes, long seed, int maxChunk) {
        this.data = new ByteArrayInputStream(bytes);
        this.random = new Random(seed);
        this.maxChunk = maxChunk;
    }

    @Override public int read() {
        return data.read();
    }

    @Override public int read(byte[] b, int off, int len) {
        if (len == 0) return 0;
        return data.read(b, off, Math.min(len, 1 + random.nextInt(maxChunk)));
    }
}
