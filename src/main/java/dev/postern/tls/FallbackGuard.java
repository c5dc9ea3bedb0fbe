package dev.postern.tls;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.util.Arrays;
import java.util.List;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLSocket;

/**
 * RFC 7507 (TLS_FALLBACK_SCSV) for the JDK's TLS server, which ignores the SCSV. Handed to
 * {@link javax.net.ssl.SSLSocketFactory#createSocket(Socket, InputStream, boolean)} as the bytes already "consumed":
 * on JSSE's first read it reads the ClientHello's records from the plain socket, and either refuses the hello with a
 * fatal inappropriate_fallback alert or hands exactly those bytes on to JSSE, then nothing more (JSSE goes on reading
 * the socket). So the hello is read once, when JSSE would read it anyway, on the handshaking thread.
 *
 * <p>Bounded and never in the way: a record that is not a handshake record, a length out of bounds, a message that is
 * not a well-formed ClientHello: the bytes read so far go to JSSE unjudged, which rejects (or handles) them as it
 * always did. Errors of the socket itself are JSSE's too, as they would have been. Only what could hide a fallback
 * from the guard and not from JSSE is handled: the hello in any number of fragments (records of any size, up to a
 * 64 KiB message), and a few warning alerts before it, which JSSE ignores.
 */
final class FallbackGuard extends InputStream {
    private static final int HANDSHAKE = 22;
    private static final int ALERT = 21;
    private static final int WARNING = 1;
    private static final int FATAL = 2;
    static final int INAPPROPRIATE_FALLBACK = 86;
    /** RFC 8446 §5.1: a plaintext record holds at most 2^14 bytes. */
    private static final int MAX_RECORD = 1 << 14;
    /** A ClientHello beyond this (post-quantum key shares are about 1.2 KiB) is left to JSSE unjudged. */
    private static final int MAX_HELLO = 1 << 16;
    /** Warning alerts tolerated around the hello (no client sends any). */
    private static final int MAX_ALERTS = 4;

    private final Socket plain;
    /** The TLS socket layered over {@code plain}, whose enabled protocols say the server's best version. */
    private volatile SSLSocket tls;

    private byte[] consumed;
    private int length;
    private int position;

    FallbackGuard(Socket plain) {
        this.plain = plain;
    }

    /** The TLS socket this guard feeds; its enabled protocols are read when the hello arrives. */
    void attach(SSLSocket socket) {
        tls = socket;
    }

    /** The server's best version, from the protocols it enables when the hello arrives. */
    private int serverHighest() {
        SSLSocket socket = tls;
        if (socket == null) return ClientHello.TLS13;
        List<String> enabled = Arrays.asList(socket.getEnabledProtocols());
        return enabled.contains("TLSv1.3") ? ClientHello.TLS13
                : enabled.contains("TLSv1.2") ? ClientHello.TLS12
                : enabled.contains("TLSv1.1") ? 0x0302 : 0x0301;
    }

    @Override public int read() throws IOException {
        byte[] one = new byte[1];
        return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
    }

    @Override public int read(byte[] b, int off, int len) throws IOException {
        if (consumed == null) inspect();
        if (len == 0) return 0;
        if (position >= length) return -1; // the hello is handed on; the rest is the socket's
        int n = Math.min(len, length - position);
        System.arraycopy(consumed, position, b, off, n);
        position += n;
        return n;
    }

    @Override public int available() {
        return consumed == null ? 0 : length - position;
    }

    /** Reads the hello's records, and refuses an inappropriate fallback; otherwise keeps the bytes for JSSE. */
    private void inspect() throws IOException {
        consumed = new byte[512];
        InputStream in = plain.getInputStream();
        byte[] message = new byte[512]; // the handshake message, reassembled from the records' fragments
        int messageLength = 0;
        int needed = -1; // the whole message's length, once its header is known
        int alerts = 0;
        while (needed < 0 || messageLength < needed) {
            int header = length;
            if (readInto(in, 5) < 5) return;
            int type = consumed[header], recordLength = ((consumed[header + 3] & 0xff) << 8) | (consumed[header + 4] & 0xff);
            if (type == ALERT && recordLength == 2) {
                // JSSE ignores warning alerts here: someone in the path could send some to hide the hello from us.
                if (readInto(in, 2) < 2 || consumed[header + 5] != WARNING) return;
                if (++alerts > MAX_ALERTS) throw new SSLHandshakeException("alerts instead of a ClientHello");
                continue;
            }
            // Whatever else JSSE refuses by itself (RFC 8446 §5.1: no empty handshake fragments, no interleaving).
            if (type != HANDSHAKE || recordLength == 0 || recordLength > MAX_RECORD) return;
            int fragment = length;
            if (readInto(in, recordLength) < recordLength) return;
            if (messageLength + recordLength > message.length) {
                message = Arrays.copyOf(message, Math.max(2 * message.length, messageLength + recordLength));
            }
            System.arraycopy(consumed, fragment, message, messageLength, recordLength);
            messageLength += recordLength;
            if (needed < 0 && messageLength >= 4) {
                needed = 4 + (((message[1] & 0xff) << 16) | ((message[2] & 0xff) << 8) | (message[3] & 0xff));
                if (message[0] != 1 || needed > MAX_HELLO) return;
            }
        }
        ClientHello hello = ClientHello.parse(message, needed);
        if (hello == null || !hello.fallbackScsv()) return;
        int serverHighest;
        try {
            serverHighest = serverHighest();
        } catch (RuntimeException e) { // the socket went away meanwhile: JSSE will find out
            return;
        }
        if (hello.inappropriateFallback(serverHighest)) refuse(hello, serverHighest);
    }

    /** Reads up to {@code n} bytes (fewer only at the end of the stream) onto the consumed bytes; how many. */
    private int readInto(InputStream in, int n) throws IOException {
        if (length + n > consumed.length) consumed = Arrays.copyOf(consumed, Math.max(2 * consumed.length, length + n));
        int got = in.readNBytes(consumed, length, n);
        length += got;
        return got;
    }

    /** Sends the fatal alert, closes our side for writing (JSSE's own alert then goes nowhere) and fails the read. */
    private void refuse(ClientHello hello, int serverHighest) throws IOException {
        length = 0; // nothing of this hello reaches JSSE, whatever it reads next
        int recordVersion = Math.max(0x0301, Math.min(hello.legacyVersion(), ClientHello.TLS12));
        try {
            OutputStream out = plain.getOutputStream();
            out.write(new byte[] {ALERT, (byte) (recordVersion >> 8), (byte) recordVersion, 0, 2, FATAL,
                    INAPPROPRIATE_FALLBACK});
            out.flush();
            plain.shutdownOutput();
        } catch (IOException e) {
            // the client is gone: refused all the same
        }
        throw new SSLHandshakeException("inappropriate fallback (RFC 7507): the client offers at most "
                + ClientHello.name(hello.highestVersion()) + " with TLS_FALLBACK_SCSV, the server supports "
                + ClientHello.name(serverHighest));
    }
}
