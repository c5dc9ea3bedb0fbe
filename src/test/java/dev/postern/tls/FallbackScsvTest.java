package dev.postern.tls;

import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.cli.Gateway;
import dev.postern.config.Config;
import dev.postern.testkit.TestConfigs;
import dev.postern.tls.Certificates.KeyType;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Issue 11 item 11: RFC 7507. A ClientHello carrying TLS_FALLBACK_SCSV whose best version is below the server's best
 * gets a fatal inappropriate_fallback alert (86) from the JDK provider's listeners too; other hellos go on as before.
 * Raw hellos written by the test on loopback, against wrapServer directly and a gateway's STARTTLS and implicit TLS
 * listeners; and the parser and the guard fed random, truncated and mutated input.
 */
class FallbackScsvTest {
    static final int TLS10 = 0x0301, TLS11 = 0x0302, TLS12 = 0x0303, TLS13 = 0x0304;
    static final int SCSV = 0x5600;
    static final List<Integer> SUITES_12 = List.of(0xc02b, 0xc02f, 0xc02c, 0xc030); // ECDHE_{ECDSA,RSA} AES-GCM
    static final List<Integer> SUITES_13 = List.of(0x1301, 0x1302);

    @TempDir static Path dir;
    static KeyMaterial ec;
    static SSLContext server;
    static Gateway gateway;

    @BeforeAll static void start() throws Exception {
        ec = Certificates.selfSigned(List.of("gw.example"), KeyType.EC_P256, Duration.ofDays(30));
        server = TlsContexts.server(ec);
        InetSocketAddress any = new InetSocketAddress("127.0.0.1", 0);
        Config c = TestConfigs.gateway(dir.resolve("data"), "gw.test", Set.of("postern.test")).withListeners(List.of(
                new Config.Listener(any, Config.Role.MX), new Config.Listener(any, Config.Role.SUBMISSIONS)));
        gateway = Gateway.start(c);
    }

    @AfterAll static void stop() {
        if (gateway != null) gateway.close();
    }

    // ---- against wrapServer, a TLS 1.3 server

    @Test void aTls12HelloWithTheScsvGetsInappropriateFallback() throws Exception {
        Served s = serve(server, hello(TLS12, with(SUITES_12, SCSV), null));
        assertThat(s.reply()).containsExactly(21, 3, 3, 0, 2, 2, 86);
        assertThat(s.serverFailure()).hasMessageContaining("inappropriate fallback");
    }

    @ParameterizedTest(name = "client at most {0}")
    @ValueSource(ints = {TLS10, TLS11})
    void olderFallbacksToo(int version) throws Exception {
        Served s = serve(server, hello(version, with(SUITES_12, SCSV), null));
        assertThat(s.reply()).containsExactly(21, 3, version & 0xff, 0, 2, 2, 86);
    }

    @Test void withoutTheScsvTheHandshakeGoesOn() throws Exception {
        Served s = serve(server, hello(TLS12, SUITES_12, null));
        assertServerHello(s.reply(), TLS12);
    }

    @Test void theScsvFromAClientOfferingTls13IsNoFallback() throws Exception {
        List<Integer> suites = new ArrayList<>(SUITES_13);
        suites.addAll(SUITES_12);
        Served s = serve(server, hello(TLS12, with(suites, SCSV), List.of(TLS13, TLS12)));
        assertServerHello(s.reply(), TLS12); // a TLS 1.3 ServerHello (here a HelloRetryRequest: no key share sent)
    }

    /** supported_versions decides, not legacy_version, and GREASE values in it are no versions. */
    @Test void supportedVersionsDecide() throws Exception {
        Served s = serve(server, hello(TLS12, with(SUITES_12, SCSV), List.of(0x3a3a, TLS12)));
        assertThat(s.reply()).containsExactly(21, 3, 3, 0, 2, 2, 86);
    }

    /** A server whose best is TLS 1.2 has nothing better to offer: the same hello goes on. */
    @Test void aTls12ServerTakesTheScsvHello() throws Exception {
        Served s = serve(server, hello(TLS12, with(SUITES_12, SCSV), null), "TLSv1.2");
        assertServerHello(s.reply(), TLS12);
    }

    /**
     * A hello split into records of 7 bytes each, or of one byte each (the handshake transcript does not see records,
     * so anyone in the path may re-fragment the hello to hide it from a guard), is reassembled and judged the same.
     */
    @ParameterizedTest(name = "fragments of {0} bytes")
    @ValueSource(ints = {7, 1})
    void aFragmentedHelloIsJudgedToo(int size) throws Exception {
        byte[] record = hello(TLS12, with(SUITES_12, SCSV), null);
        Served s = serve(server, fragment(record, size));
        assertThat(s.reply()).containsExactly(21, 3, 3, 0, 2, 2, 86);
        assertServerHello(serve(server, fragment(hello(TLS12, SUITES_12, null), size)).reply(), TLS12);
    }

    /** JSSE ignores warning alerts before the hello, so they must not hide it from the guard either. */
    @Test void warningAlertsBeforeTheHelloHideNothing() throws Exception {
        byte[] warning = {21, 3, 1, 0, 2, 1, 112}; // unrecognized_name, warning
        Served s = serve(server, concat(warning, warning, hello(TLS12, with(SUITES_12, SCSV), null)));
        assertThat(s.reply()).containsExactly(21, 3, 3, 0, 2, 2, 86);
        Served many = serve(server, concat(warning, warning, warning, warning, warning,
                hello(TLS12, SUITES_12, null)));
        assertThat(many.serverFailure()).hasMessageContaining("alerts instead of a ClientHello");
    }

    /** Real JDK clients (TLS 1.3, and 1.2 only) are untouched. */
    @Test void realClientsHandshake() throws Exception {
        for (String protocol : List.of("TLSv1.3", "TLSv1.2")) {
            Handshakes.Outcome o = Handshakes.run(Handshakes.postern(server),
                    plain -> ClientShape.jdkDefault(protocol).wrap(plain));
            assertThat(o.clientFailure()).isNull();
            assertThat(o.client().protocol()).isEqualTo(protocol);
        }
    }

    // ---- a gateway's listeners

    @Test void startTlsListener() throws Exception {
        InetSocketAddress mx = gateway.boundAddresses().get(0);
        try (Socket s = new Socket()) {
            s.connect(mx, 5000);
            s.setSoTimeout(10_000);
            InputStream in = s.getInputStream();
            readReply(in);
            s.getOutputStream().write("EHLO client.test\r\n".getBytes(StandardCharsets.US_ASCII));
            readReply(in);
            s.getOutputStream().write("STARTTLS\r\n".getBytes(StandardCharsets.US_ASCII));
            assertThat(readReply(in)).startsWith("220");
            s.getOutputStream().write(hello(TLS12, with(SUITES_12, SCSV), null));
            assertThat(in.readNBytes(7)).containsExactly(21, 3, 3, 0, 2, 2, 86);
            assertThat(in.read()).isEqualTo(-1);
        }
    }

    @Test void implicitTlsListener() throws Exception {
        InetSocketAddress submissions = gateway.boundAddresses().get(1);
        try (Socket s = new Socket()) {
            s.connect(submissions, 5000);
            s.setSoTimeout(10_000);
            s.getOutputStream().write(hello(TLS11, with(SUITES_12, SCSV), null));
            assertThat(s.getInputStream().readNBytes(7)).containsExactly(21, 3, 2, 0, 2, 2, 86);
        }
        try (Socket s = new Socket()) { // and the listener serves the next client
            s.connect(submissions, 5000);
            s.setSoTimeout(10_000);
            s.getOutputStream().write(hello(TLS12, SUITES_12, null));
            assertServerHello(s.getInputStream().readNBytes(11), TLS12);
        }
    }

    // ---- the parser and the guard against hostile input

    @Test void theParserReadsWhatItShould() {
        ClientHello h = parse(hello(TLS12, with(SUITES_12, SCSV), List.of(0x1a1a, TLS13, TLS12)));
        assertThat(h).isEqualTo(new ClientHello(TLS12, TLS13, true));
        assertThat(parse(hello(TLS11, SUITES_12, null))).isEqualTo(new ClientHello(TLS11, TLS11, false));
        assertThat(parse(hello(TLS12, SUITES_12, List.of(0x2a2a)))).as("only GREASE").isNull();
    }

    @Test void theParserNeverThrows() {
        Random random = new Random(7507);
        byte[] good = hello(TLS12, with(SUITES_12, SCSV), List.of(TLS12));
        byte[] message = Arrays.copyOfRange(good, 5, good.length);
        for (int i = 0; i < message.length; i++) { // every truncation, lengths left as they were
            assertThat(ClientHello.parse(message, i)).as("truncated to %d", i).isNull();
        }
        for (int round = 0; round < 20_000; round++) {
            byte[] input;
            if (round % 2 == 0) {
                input = message.clone(); // a few bytes changed
                for (int k = 1 + random.nextInt(4); k > 0; k--) input[random.nextInt(input.length)] = (byte) random.nextInt();
            } else {
                input = new byte[random.nextInt(300)];
                random.nextBytes(input);
                if (input.length > 0) input[0] = 1;
            }
            ClientHello.parse(input, random.nextInt(input.length + 1)); // returns, whatever it returns
            ClientHello.parse(input, input.length);
        }
    }

    /**
     * Whatever arrives, the guard hands on exactly the bytes it read, in order, and the socket keeps the rest: the
     * concatenation is what the client sent, unless the guard refused (then it refused a real SCSV fallback hello).
     */
    @Test void theGuardLosesNoByte() throws Exception {
        Random random = new Random(86);
        byte[] good = hello(TLS12, SUITES_12, List.of(TLS12));
        try (ServerSocket listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            for (int round = 0; round < 300; round++) {
                byte[] sent;
                switch (round % 3) {
                    case 0 -> { // truncated
                        sent = Arrays.copyOf(good, random.nextInt(good.length + 1));
                    }
                    case 1 -> { // mutated, with trailing data
                        sent = Arrays.copyOf(good, good.length + random.nextInt(40));
                        for (int k = 1 + random.nextInt(4); k > 0; k--) sent[random.nextInt(sent.length)] = (byte) random.nextInt();
                    }
                    default -> { // noise that starts like a handshake record
                        sent = new byte[random.nextInt(600)];
                        random.nextBytes(sent);
                        if (sent.length > 0) sent[0] = 22;
                    }
                }
                try (Socket client = new Socket(listener.getInetAddress(), listener.getLocalPort());
                     Socket accepted = listener.accept()) {
                    client.getOutputStream().write(sent);
                    client.shutdownOutput();
                    accepted.setSoTimeout(5_000);
                    FallbackGuard guard = new FallbackGuard(accepted);
                    ByteArrayOutputStream seen = new ByteArrayOutputStream();
                    try {
                        guard.transferTo(seen);
                    } catch (javax.net.ssl.SSLHandshakeException refused) { // a mutation made a real SCSV fallback
                        assertThat(refused).hasMessageContaining("inappropriate fallback");
                        continue;
                    }
                    seen.write(accepted.getInputStream().readAllBytes());
                    assertThat(seen.toByteArray()).as("round %d", round).isEqualTo(sent);
                }
            }
        }
    }

    // ---- helpers

    record Served(int[] reply, Throwable serverFailure) {}

    /** Writes {@code bytes} to a server wrapping the connection with {@code context}; what came back first. */
    private static Served serve(SSLContext context, byte[] bytes, String... protocols) throws Exception {
        try (ServerSocket listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            CompletableFuture<Throwable> failure = new CompletableFuture<>();
            Thread.ofVirtual().start(() -> {
                try (Socket plain = listener.accept(); SSLSocket tls = TlsContexts.wrapServer(context, plain)) {
                    if (protocols.length > 0) tls.setEnabledProtocols(protocols);
                    tls.setSoTimeout(5_000);
                    tls.startHandshake();
                    failure.complete(null);
                } catch (Throwable e) {
                    failure.complete(e);
                }
            });
            try (Socket s = new Socket(listener.getInetAddress(), listener.getLocalPort())) {
                s.setSoTimeout(10_000);
                s.getOutputStream().write(bytes);
                s.getOutputStream().flush();
                byte[] head = s.getInputStream().readNBytes(11);
                int[] reply = new int[head.length];
                for (int i = 0; i < head.length; i++) reply[i] = head[i] & 0xff;
                return new Served(head.length >= 7 && head[0] == 21 ? Arrays.copyOf(reply, 7) : reply,
                        failure.get(10, TimeUnit.SECONDS));
            }
        }
    }

    /** A handshake record whose ServerHello says {@code version} (legacy_version, 0x0303 for TLS 1.3 too). */
    private static void assertServerHello(int[] head, int version) {
        assertThat(head).hasSizeGreaterThanOrEqualTo(11);
        assertThat(head[0]).as("a handshake record, not an alert").isEqualTo(22);
        assertThat(head[5]).as("ServerHello").isEqualTo(2);
        assertThat((head[9] << 8) | head[10]).isEqualTo(version);
    }

    private static void assertServerHello(byte[] head, int version) {
        int[] h = new int[head.length];
        for (int i = 0; i < head.length; i++) h[i] = head[i] & 0xff;
        assertServerHello(h, version);
    }

    private static String readReply(InputStream in) throws IOException {
        StringBuilder line = new StringBuilder();
        while (true) {
            int c = in.read();
            if (c < 0) throw new IOException("closed");
            line.append((char) c);
            if (c == '\n') {
                if (line.length() > 3 && line.charAt(3) == '-') {
                    line.setLength(0);
                    continue;
                }
                return line.toString();
            }
        }
    }

    private static ClientHello parse(byte[] record) {
        return ClientHello.parse(Arrays.copyOfRange(record, 5, record.length), record.length - 5);
    }

    private static byte[] concat(byte[]... parts) {
        Bytes out = new Bytes();
        for (byte[] p : parts) out.bytes(p);
        return out.toByteArray();
    }

    private static List<Integer> with(List<Integer> suites, int extra) {
        List<Integer> out = new ArrayList<>(suites);
        out.add(extra);
        return out;
    }

    /** One handshake record holding a ClientHello; supported_versions only when {@code versions} is not null. */
    static byte[] hello(int legacyVersion, List<Integer> suites, List<Integer> versions) {
        Bytes ext = new Bytes();
        ext.u16(0x000a).u16(6).u16(4).u16(0x001d).u16(0x0017);                   // supported_groups
        ext.u16(0x000b).u16(2).u8(1).u8(0);                                      // ec_point_formats
        ext.u16(0x000d).u16(8).u16(6).u16(0x0403).u16(0x0804).u16(0x0401);       // signature_algorithms
        ext.u16(0xff01).u16(1).u8(0);                                            // renegotiation_info
        if (versions != null) {
            ext.u16(0x002b).u16(1 + 2 * versions.size()).u8(2 * versions.size());
            versions.forEach(ext::u16);
            if (versions.contains(TLS13)) ext.u16(0x0033).u16(2).u16(0);           // key_share, no share: HRR
        }
        Bytes body = new Bytes();
        body.u16(legacyVersion);
        for (int i = 0; i < 32; i++) body.u8(i);                                 // random
        body.u8(0);                                                              // session id
        body.u16(2 * suites.size());
        suites.forEach(body::u16);
        body.u8(1).u8(0);                                                        // null compression
        body.u16(ext.size()).bytes(ext.toByteArray());
        Bytes message = new Bytes().u8(1).u24(body.size()).bytes(body.toByteArray());
        return new Bytes().u8(22).u16(TLS10).u16(message.size()).bytes(message.toByteArray()).toByteArray();
    }

    /** The record's handshake message in records of at most {@code size} bytes each. */
    static byte[] fragment(byte[] record, int size) {
        byte[] message = Arrays.copyOfRange(record, 5, record.length);
        Bytes out = new Bytes();
        for (int off = 0; off < message.length; off += size) {
            int n = Math.min(size, message.length - off);
            out.u8(22).u16(TLS10).u16(n).bytes(Arrays.copyOfRange(message, off, off + n));
        }
        return out.toByteArray();
    }

    static final class Bytes extends ByteArrayOutputStream {
        Bytes u8(int v) { write(v); return this; }
        Bytes u16(int v) { write(v >> 8); write(v); return this; }
        Bytes u24(int v) { write(v >> 16); return u16(v & 0xffff); }
        Bytes bytes(byte[] b) { writeBytes(b); return this; }
    }
}
