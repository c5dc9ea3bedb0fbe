package dev.postern.tls;

import java.io.FilterInputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.SocketException;
import java.net.SocketImpl;
import java.net.SocketOption;
import java.nio.channels.SocketChannel;
import java.util.Collections;
import java.util.Map;
import java.util.Set;
import java.util.WeakHashMap;
import javax.net.ssl.SSLSocket;

/**
 * The plain socket under a JDK (JSSE) TLS socket, as JSSE sees it: every call goes to the real socket, and the
 * server's first flight is shown to a {@link ServerFlight} on its way (read from the input stream when Postern is the
 * client, from the output stream when it is the server), so that the key-exchange group is known though JSSE does not
 * tell it. Nothing is copied or held up: the bytes pass as they are, and once the flight says it is done the streams
 * only pass them on.
 */
final class HandshakeTap extends Socket {
    /** The tap under each TLS socket, until the socket is gone (weak keys: nothing to clean up). */
    private static final Map<SSLSocket, HandshakeTap> TAPS = Collections.synchronizedMap(new WeakHashMap<>());

    private final Socket plain;
    private final boolean server;
    private final ServerFlight flight = new ServerFlight();
    private volatile boolean watching = true;
    private volatile String group;
    private InputStream in;
    private OutputStream out;

    /** A tap over {@code plain}; {@code server} when Postern is the TLS server (it writes the flight). */
    HandshakeTap(Socket plain, boolean server) throws SocketException {
        super((SocketImpl) null);
        this.plain = plain;
        this.server = server;
    }

    /** Notes that {@code tls} is layered over this tap, for {@link #groupOf}. */
    void attach(SSLSocket tls) {
        TAPS.put(tls, this);
    }

    /** The group a tap under {@code tls} saw, or null (no tap, or it did not see one). */
    static String groupOf(SSLSocket tls) {
        HandshakeTap tap = TAPS.get(tls);
        return tap == null ? null : tap.group;
    }

    private void watch(byte[] bytes, int offset, int length) {
        try {
            if (flight.feed(bytes, offset, length)) {
                group = flight.group();
                watching = false;
            }
        } catch (RuntimeException e) {
            // The parser is written never to throw; should it, the handshake must not notice: no group, no watching.
            watching = false;
        }
    }

    @Override public synchronized InputStream getInputStream() throws IOException {
        if (in == null) {
            InputStream real = plain.getInputStream();
            in = server ? real : new FilterInputStream(real) {
                @Override public int read() throws IOException {
                    int b = super.read();
                    if (b >= 0 && watching) watch(new byte[] {(byte) b}, 0, 1);
                    return b;
                }

                @Override public int read(byte[] b, int off, int len) throws IOException {
                    int n = super.read(b, off, len);
                    if (n > 0 && watching) watch(b, off, n);
                    return n;
                }
            };
        }
        return in;
    }

    @Override public synchronized OutputStream getOutputStream() throws IOException {
        if (out == null) {
            OutputStream real = plain.getOutputStream();
            out = !server ? real : new FilterOutputStream(real) {
                @Override public void write(int b) throws IOException {
                    if (watching) watch(new byte[] {(byte) b}, 0, 1);
                    out.write(b);
                }

                @Override public void write(byte[] b, int off, int len) throws IOException {
                    if (watching) watch(b, off, len);
                    out.write(b, off, len);
                }
            };
        }
        return out;
    }

    // Everything else is the real socket's.
    @Override public void connect(SocketAddress endpoint) throws IOException { plain.connect(endpoint); }
    @Override public void connect(SocketAddress endpoint, int timeout) throws IOException { plain.connect(endpoint, timeout); }
    @Override public void bind(SocketAddress bindpoint) throws IOException { plain.bind(bindpoint); }
    @Override public InetAddress getInetAddress() { return plain.getInetAddress(); }
    @Override public InetAddress getLocalAddress() { return plain.getLocalAddress(); }
    @Override public int getPort() { return plain.getPort(); }
    @Override public int getLocalPort() { return plain.getLocalPort(); }
    @Override public SocketAddress getRemoteSocketAddress() { return plain.getRemoteSocketAddress(); }
    @Override public SocketAddress getLocalSocketAddress() { return plain.getLocalSocketAddress(); }
    @Override public SocketChannel getChannel() { return plain.getChannel(); }
    @Override public void setTcpNoDelay(boolean on) throws SocketException { plain.setTcpNoDelay(on); }
    @Override public boolean getTcpNoDelay() throws SocketException { return plain.getTcpNoDelay(); }
    @Override public void setSoLinger(boolean on, int linger) throws SocketException { plain.setSoLinger(on, linger); }
    @Override public int getSoLinger() throws SocketException { return plain.getSoLinger(); }
    @Override public void sendUrgentData(int data) throws IOException { plain.sendUrgentData(data); }
    @Override public void setOOBInline(boolean on) throws SocketException { plain.setOOBInline(on); }
    @Override public boolean getOOBInline() throws SocketException { return plain.getOOBInline(); }
    @Override public void setSoTimeout(int timeout) throws SocketException { plain.setSoTimeout(timeout); }
    @Override public int getSoTimeout() throws SocketException { return plain.getSoTimeout(); }
    @Override public void setSendBufferSize(int size) throws SocketException { plain.setSendBufferSize(size); }
    @Override public int getSendBufferSize() throws SocketException { return plain.getSendBufferSize(); }
    @Override public void setReceiveBufferSize(int size) throws SocketException { plain.setReceiveBufferSize(size); }
    @Override public int getReceiveBufferSize() throws SocketException { return plain.getReceiveBufferSize(); }
    @Override public void setKeepAlive(boolean on) throws SocketException { plain.setKeepAlive(on); }
    @Override public boolean getKeepAlive() throws SocketException { return plain.getKeepAlive(); }
    @Override public void setTrafficClass(int tc) throws SocketException { plain.setTrafficClass(tc); }
    @Override public int getTrafficClass() throws SocketException { return plain.getTrafficClass(); }
    @Override public void setReuseAddress(boolean on) throws SocketException { plain.setReuseAddress(on); }
    @Override public boolean getReuseAddress() throws SocketException { return plain.getReuseAddress(); }
    @Override public void close() throws IOException { plain.close(); }
    @Override public void shutdownInput() throws IOException { plain.shutdownInput(); }
    @Override public void shutdownOutput() throws IOException { plain.shutdownOutput(); }
    @Override public String toString() { return plain.toString(); }
    @Override public boolean isConnected() { return plain.isConnected(); }
    @Override public boolean isBound() { return plain.isBound(); }
    @Override public boolean isClosed() { return plain.isClosed(); }
    @Override public boolean isInputShutdown() { return plain.isInputShutdown(); }
    @Override public boolean isOutputShutdown() { return plain.isOutputShutdown(); }
    @Override public void setPerformancePreferences(int connectionTime, int latency, int bandwidth) {
        plain.setPerformancePreferences(connectionTime, latency, bandwidth);
    }
    @Override public <T> Socket setOption(SocketOption<T> name, T value) throws IOException {
        plain.setOption(name, value);
        return this;
    }
    @Override public <T> T getOption(SocketOption<T> name) throws IOException { return plain.getOption(name); }
    @Override public Set<SocketOption<?>> supportedOptions() { return plain.supportedOptions(); }
}
