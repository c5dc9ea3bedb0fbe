package dev.postern.mtasts;

import dev.postern.deadline.IoWatchdog;
import dev.postern.dns.DnsException;
import dev.postern.dns.DnsResolver;
import dev.postern.tls.TlsConfigException;
import dev.postern.tls.TlsContexts;
import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

/**
 * Fetches {@code https://mta-sts.DOMAIN/.well-known/mta-sts.txt} (RFC 8461 §3.3). The host is resolved by Postern's
 * own {@link DnsResolver}, not the JDK's, and its addresses are tried one after another on the HTTPS port. TLS 1.2
 * or 1.3 with SNI {@code mta-sts.DOMAIN} and the JDK's PKIX and RFC 6125 checks ("HTTPS" endpoint identification)
 * against the system store plus the configured CA file. A small HTTP/1.1 client, because the JDK's HttpClient cannot
 * be pointed at an address resolved elsewhere while it verifies the name: one GET, 200 only (a redirect is a failure),
 * Content-Type text/plain, at most 64 KiB, Content-Length, chunked or until close, all within one deadline.
 */
public final class PolicyFetcher implements Closeable {

    /** RFC 8461 §3.3 suggests this limit on the policy's size. */
    static final int MAX_BODY = 64 * 1024;
    /** Status line and headers together. */
    static final int MAX_HEAD = 16 * 1024;
    static final String PATH = "/.well-known/mta-sts.txt";

    /**
     * @param caFile         trusted besides the system store (private PKI, tests); null: the system store only
     * @param connectTimeout per address
     * @param fetchTimeout   the whole fetch, every address, from the DNS lookup to the last byte
     * @param port           443; another only in tests
     */
    public record Settings(Path caFile, Duration connectTimeout, Duration fetchTimeout, int port) {}

    /** Why no policy came back; the message is one line for logs and {@code postern mta-sts show}. */
    public static final class FetchException extends Exception {
        public FetchException(String message) { super(message); }
    }

    private final DnsResolver dns;
    private final Settings settings;
    private final SSLContext context;
    private final IoWatchdog watchdog = new IoWatchdog("mta-sts-fetch", Duration.ofMillis(50));

    public PolicyFetcher(DnsResolver dns, Settings settings) throws TlsConfigException {
        this.dns = dns;
        this.settings = settings;
        this.context = context(settings.caFile());
    }

    /** A context whose trust managers hold the system anchors and those of {@code caFile}. */
    private static SSLContext context(Path caFile) throws TlsConfigException {
        try {
            return TlsContexts.verifying(caFile);
        } catch (TlsConfigException e) {
            throw new TlsConfigException("cannot build the MTA-STS trust store: " + e.getMessage());
        }
    }

    /** The policy of {@code domain} (lookup form), or why there is none. */
    public Policy fetch(String domain) throws FetchException {
        long deadline = System.nanoTime() + settings.fetchTimeout().toNanos();
        String host = "mta-sts." + domain;
        List<InetAddress> addresses;
        try {
            addresses = dns.resolve(host).addresses();
        } catch (DnsException e) {
            throw new FetchException("DNS lookup of " + host + " failed: " + e.getMessage());
        }
        if (addresses.isEmpty()) throw new FetchException(host + " has no address");
        List<String> failures = new ArrayList<>();
        for (InetAddress address : addresses) {
            if (System.nanoTime() - deadline >= 0) {
                failures.add("fetch timed out");
                break;
            }
            String at = host + "[" + address.getHostAddress() + "]:" + settings.port();
            try {
                String body = get(host, address, deadline);
                try {
                    return Policy.parse(body);
                } catch (Policy.InvalidPolicyException e) {
                    throw new FetchException("invalid policy from " + at + ": " + e.getMessage());
                }
            } catch (IOException e) {
                failures.add(at + ": " + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()));
            }
        }
        throw new FetchException(String.join("; ", failures));
    }

    /** The body of a 200 text/plain answer from one address; IOException with a one-line reason otherwise. */
    private String get(String host, InetAddress address, long deadline) throws IOException {
        Socket plain = new Socket();
        try (IoWatchdog.Deadline guard = watchdog.watch(plain)) {
            guard.arm(deadline);
            try {
                long left = Math.max(1, (deadline - System.nanoTime()) / 1_000_000);
                plain.connect(new InetSocketAddress(address, settings.port()),
                        (int) Math.min(left, settings.connectTimeout().toMillis()));
                plain.setSoTimeout((int) Math.min(Integer.MAX_VALUE, left));
                SSLSocket tls = TlsContexts.wrapClient(context, plain, host, settings.port());
                SSLParameters p = tls.getSSLParameters();
                p.setEndpointIdentificationAlgorithm("HTTPS"); // RFC 6125 name check by the JDK, against SNI's name
                tls.setSSLParameters(p);
                tls.startHandshake();
                OutputStream out = tls.getOutputStream();
                out.write(("GET " + PATH + " HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: Postern\r\n"
                        + "Accept: text/plain\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                out.flush();
                return Http.readResponse(tls.getInputStream());
            } catch (IOException e) {
                if (guard.fired()) throw new IOException("fetch timed out");
                throw e;
            } finally {
                plain.close();
            }
        }
    }

    @Override public void close() {
        watchdog.close();
    }

    /** The response side of HTTP/1.1 (RFC 9112), as much as a policy fetch needs. */
    static final class Http {
        private Http() {}

        static String readResponse(InputStream in) throws IOException {
            String status = line(in);
            String[] parts = status.split(" ", 3);
            if (parts.length < 2 || !parts[0].startsWith("HTTP/1.")) {
                throw new IOException("not an HTTP/1.x response: " + printable(status));
            }
            if (!parts[1].equals("200")) {
                throw new IOException("HTTP status " + printable(parts[1]) + (parts[1].startsWith("3")
                        ? " (redirects are not followed, RFC 8461 §3.3)" : "") + ", expected 200");
            }
            long length = -1;
            boolean chunked = false;
            String type = null;
            int headBytes = status.length();
            for (String h = line(in); !h.isEmpty(); h = line(in)) {
                headBytes += h.length() + 2;
                if (headBytes > MAX_HEAD) throw new IOException("response headers over " + MAX_HEAD + " bytes");
                int colon = h.indexOf(':');
                if (colon <= 0) throw new IOException("malformed header line: " + printable(h));
                String name = h.substring(0, colon).strip().toLowerCase(Locale.ROOT);
                String value = h.substring(colon + 1).strip();
                switch (name) {
                    case "content-length" -> {
                        if (!value.matches("[0-9]{1,18}") || length >= 0 && length != Long.parseLong(value)) {
                            throw new IOException("bad Content-Length: " + printable(value));
                        }
                        length = Long.parseLong(value);
                    }
                    case "transfer-encoding" -> chunked = value.toLowerCase(Locale.ROOT).endsWith("chunked");
                    case "content-type" -> type = value;
                    default -> { }
                }
            }
            // RFC 8461 §3.3: media type text/plain; parameters (charset) are fine
            String media = type == null ? "" : type.split(";", 2)[0].strip().toLowerCase(Locale.ROOT);
            if (!media.equals("text/plain")) {
                throw new IOException("Content-Type " + (type == null ? "missing" : printable(type))
                        + ", expected text/plain");
            }
            byte[] body = chunked ? chunked(in) : length >= 0 ? exactly(in, length) : untilClose(in);
            return new String(body, StandardCharsets.UTF_8);
        }

        private static byte[] exactly(InputStream in, long length) throws IOException {
            if (length > MAX_BODY) throw new IOException("policy of " + length + " bytes, over " + MAX_BODY);
            byte[] body = in.readNBytes((int) length);
            if (body.length < length) throw new IOException("connection closed inside the policy");
            return body;
        }

        private static byte[] untilClose(InputStream in) throws IOException {
            byte[] body = in.readNBytes(MAX_BODY + 1);
            if (body.length > MAX_BODY) throw new IOException("policy over " + MAX_BODY + " bytes");
            return body;
        }

        private static byte[] chunked(InputStream in) throws IOException {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            while (true) {
                String size = line(in).split(";", 2)[0].strip();
                if (!size.matches("[0-9A-Fa-f]{1,8}")) throw new IOException("bad chunk size: " + printable(size));
                long n = Long.parseLong(size, 16);
                if (n == 0) break;
                if (out.size() + n > MAX_BODY) throw new IOException("policy over " + MAX_BODY + " bytes");
                byte[] chunk = in.readNBytes((int) n);
                if (chunk.length < n) throw new IOException("connection closed inside a chunk");
                out.write(chunk);
                if (!line(in).isEmpty()) throw new IOException("chunk not followed by CRLF");
            }
            return out.toByteArray(); // trailers are not read: the connection closes
        }

        /** One line without its CRLF (a bare LF is tolerated), at most {@link #MAX_HEAD} bytes. */
        private static String line(InputStream in) throws IOException {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            while (true) {
                int c = in.read();
                if (c < 0) throw new IOException("connection closed before the response was complete");
                if (c == '\n') break;
                if (b.size() >= MAX_HEAD) throw new IOException("response line over " + MAX_HEAD + " bytes");
                b.write(c);
            }
            String s = b.toString(StandardCharsets.ISO_8859_1);
            return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
        }

        /** A peer's text for a log line: printable ASCII, at most 100 characters. */
        private static String printable(String s) {
            String t = s.replaceAll("[^\\x20-\\x7e]", "?");
            return "\"" + (t.length() > 100 ? t.substring(0, 100) + "..." : t) + "\"";
        }
    }
}
