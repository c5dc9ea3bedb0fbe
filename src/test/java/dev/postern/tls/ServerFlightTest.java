package dev.postern.tls;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The server's first flight as bytes built here, fed to {@link ServerFlight} whole, byte by byte, in random pieces,
 * with messages split across records, and damaged: the group is read where it is, and nothing else ever throws or
 * names a group that was not sent.
 */
class ServerFlightTest {
    static final byte[] HRR_RANDOM = HexFormat.of().parseHex(
            "cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c");

    // ---- building flights ----

    static byte[] u16(int v) { return new byte[] {(byte) (v >> 8), (byte) v}; }

    static byte[] cat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) out.writeBytes(p);
        return out.toByteArray();
    }

    static byte[] vector16(byte[] body) { return cat(u16(body.length), body); }

    static byte[] extension(int type, byte[] data) { return cat(u16(type), vector16(data)); }

    static byte[] message(int type, byte[] body) {
        return cat(new byte[] {(byte) type, (byte) (body.length >> 16), (byte) (body.length >> 8), (byte) body.length},
                body);
    }

    /** Records of {@code type} holding {@code payload}, cut every {@code size} bytes. */
    static byte[] records(int type, byte[] payload, int size) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 0; i < payload.length; i += size) {
            int n = Math.min(size, payload.length - i);
            out.writeBytes(new byte[] {(byte) type, 3, 3, (byte) (n >> 8), (byte) n});
            out.write(payload, i, n);
        }
        return out.toByteArray();
    }

    static byte[] handshake(byte[] messages) { return records(22, messages, 1 << 14); }

    static byte[] serverHello(byte[] random, int suite, byte[] extensions) {
        byte[] sessionId = new byte[32];
        Arrays.fill(sessionId, (byte) 7);
        return message(2, cat(u16(0x0303), random, new byte[] {32}, sessionId, u16(suite), new byte[] {0},
                vector16(extensions)));
    }

    static byte[] random() {
        byte[] r = new byte[32];
        new Random(1).nextBytes(r);
        return r;
    }

    /** A TLS 1.3 ServerHello whose key_share names {@code group} with a {@code shareLength}-byte share. */
    static byte[] tls13Hello(int group, int shareLength) {
        return serverHello(random(), 0x1302, cat(extension(43, u16(0x0304)),
                extension(51, cat(u16(group), vector16(new byte[shareLength])))));
    }

    static byte[] helloRetryRequest(int group) {
        return serverHello(HRR_RANDOM, 0x1302, cat(extension(43, u16(0x0304)), extension(51, u16(group))));
    }

    static final byte[] CCS = {20, 3, 3, 0, 1, 1};
    static final byte[] ENCRYPTED = {23, 3, 3, 0, 3, 1, 2, 3};

    static byte[] tls13Flight(int group) {
        return cat(handshake(tls13Hello(group, 32)), CCS, ENCRYPTED, ENCRYPTED);
    }

    static byte[] certificate(int size) {
        byte[] b = new byte[size];
        new Random(2).nextBytes(b);
        return message(11, b);
    }

    static byte[] ecdheKeyExchange(int group) {
        byte[] point = new byte[97];
        point[0] = 4;
        return message(12, cat(new byte[] {3}, u16(group), new byte[] {(byte) point.length}, point, u16(0x0503),
                vector16(new byte[104])));
    }

    static byte[] tls12Flight(int suite, int group, int certificateSize, int recordSize) {
        return records(22, cat(serverHello(random(), suite, extension(0xff01, new byte[] {0})),
                certificate(certificateSize), ecdheKeyExchange(group), message(14, new byte[0])), recordSize);
    }

    static ServerFlight fed(byte[] flight) {
        ServerFlight f = new ServerFlight();
        f.feed(flight, 0, flight.length);
        return f;
    }

    static ServerFlight fedInPieces(byte[] flight, long seed) {
        ServerFlight f = new ServerFlight();
        Random random = new Random(seed);
        for (int i = 0; i < flight.length; ) {
            int n = Math.min(flight.length - i, 1 + random.nextInt(300));
            byte[] copy = new byte[n + 10]; // at an offset inside a larger buffer, as a stream's reads are
            System.arraycopy(flight, i, copy, 5, n);
            f.feed(copy, 5, n);
            i += n;
        }
        return f;
    }

    // ---- the tests ----

    @Test void tls13ServerHelloWholeByteByByteAndInPieces() {
        byte[] flight = tls13Flight(0x001d);
        assertThat(fed(flight).group()).isEqualTo("x25519");
        assertThat(fed(flight).done()).isTrue();
        ServerFlight oneByOne = new ServerFlight();
        for (byte b : flight) oneByOne.feed(new byte[] {b}, 0, 1);
        assertThat(oneByOne.group()).isEqualTo("x25519");
        for (long seed = 0; seed < 50; seed++) assertThat(fedInPieces(flight, seed).group()).isEqualTo("x25519");
    }

    @Test void doneRightAfterTheServerHelloSoTheEncryptedRestIsNotWatched() {
        byte[] hello = handshake(tls13Hello(0x0017, 65));
        ServerFlight f = new ServerFlight();
        assertThat(f.feed(hello, 0, hello.length - 1)).isFalse();
        assertThat(f.group()).isNull();
        assertThat(f.feed(hello, hello.length - 1, 1)).as("done with the hello's last byte").isTrue();
        assertThat(f.group()).isEqualTo("secp256r1");
    }

    @Test void aServerHelloSplitAcrossRecords() {
        byte[] hello = tls13Hello(0x11ec, 1120); // X25519MLKEM768: a 1120-byte share
        for (int size : new int[] {1, 7, 100, 1000}) {
            byte[] flight = cat(records(22, hello, size), ENCRYPTED);
            assertThat(fed(flight).group()).as("records of %d bytes", size).isEqualTo("X25519MLKEM768");
            assertThat(fedInPieces(flight, size).group()).isEqualTo("X25519MLKEM768");
        }
    }

    @Test void afterAHelloRetryRequestTheFinalServerHelloCounts() {
        byte[] flight = cat(handshake(helloRetryRequest(0x0018)), CCS, handshake(tls13Hello(0x0018, 97)), ENCRYPTED);
        assertThat(fed(flight).group()).isEqualTo("secp384r1");
        for (long seed = 0; seed < 20; seed++) assertThat(fedInPieces(flight, seed).group()).isEqualTo("secp384r1");

        ServerFlight onlyTheRetry = fed(cat(handshake(helloRetryRequest(0x0018)), CCS));
        assertThat(onlyTheRetry.done()).as("a retry request is not the end").isFalse();
        // A server that asked for one group in its retry and then used another: the final hello decides.
        byte[] changed = cat(handshake(helloRetryRequest(0x0018)), handshake(tls13Hello(0x001d, 32)));
        assertThat(fed(changed).group()).isEqualTo("x25519");
    }

    @Test void tls12EcdheAfterALongCertificateChain() {
        byte[] flight = tls12Flight(0xc02c, 0x0018, 20_000, 1 << 14);
        assertThat(fed(flight).group()).isEqualTo("secp384r1");
        for (int size : new int[] {1, 3, 500, 4096}) {
            assertThat(fed(tls12Flight(0xc030, 0x001d, 5000, size)).group()).as("records of %d", size)
                    .isEqualTo("x25519");
        }
        for (long seed = 0; seed < 20; seed++) assertThat(fedInPieces(flight, seed).group()).isEqualTo("secp384r1");
    }

    @Test void tls12WithoutEcdheOrResumedOrEncryptedGivesNoGroup() {
        assertThat(fed(tls12Flight(0x009f, 0x0018, 1000, 1 << 14)).group()).as("a DHE suite").isNull();
        assertThat(fed(tls12Flight(0x009d, 0x0018, 1000, 1 << 14)).group()).as("RSA key transport").isNull();
        byte[] resumed = cat(handshake(serverHello(random(), 0xc02c, new byte[0])), CCS,
                handshake(ecdheKeyExchange(0x0018))); // after the CCS: encrypted bytes, whatever they look like
        assertThat(fed(resumed).group()).isNull();
        assertThat(fed(resumed).done()).isTrue();
        byte[] noKeyExchange = handshake(cat(serverHello(random(), 0xc02c, new byte[0]), certificate(100),
                message(14, new byte[0]), ecdheKeyExchange(0x0018)));
        assertThat(fed(noKeyExchange).group()).as("nothing after ServerHelloDone is read").isNull();
    }

    @Test void unknownCodesAreHex() {
        assertThat(fed(tls13Flight(0x1234)).group()).isEqualTo("0x1234");
        assertThat(NamedGroups.name(0x11eb)).isEqualTo("SecP256r1MLKEM768");
        assertThat(NamedGroups.name(0x0100)).isEqualTo("ffdhe2048");
        assertThat(NamedGroups.fromBoringSsl("P-256")).isEqualTo("secp256r1");
        assertThat(NamedGroups.fromBoringSsl("X25519MLKEM768")).isEqualTo("X25519MLKEM768");
    }

    @Test void alertsOversizedAndMalformedGiveNoGroupAndStop() {
        assertThat(fed(new byte[] {21, 3, 3, 0, 2, 2, 40}).done()).as("an alert").isTrue();
        byte[] huge = tls13Hello(0x001d, 5000);
        assertThat(fed(cat(records(22, huge, 1 << 14), ENCRYPTED)).group()).as("a hello beyond 4 KiB").isNull();
        byte[] hello = tls13Hello(0x001d, 32);
        byte[] shortened = Arrays.copyOf(hello, hello.length - 5);
        shortened[3] = (byte) (shortened.length - 4); // a consistent header over a body whose lengths lie
        assertThat(fed(handshake(shortened)).group()).isNull();
        assertThat(fed(handshake(shortened)).done()).isTrue();
        byte[] oversizedRecord = {22, 3, 3, (byte) 0x48, 0, 2};
        assertThat(fed(oversizedRecord).done()).isTrue();
        assertThat(fed(new byte[] {22, 3, 3, 0, 0}).done()).as("an empty handshake record").isTrue();
        assertThat(fed(handshake(message(1, new byte[40]))).done()).as("not a server's message").isTrue();
        assertThat(fed("EHLO x\r\n".getBytes()).done()).isTrue();
    }

    @Test void garbageAndDamagedFlightsNeverThrowNorWatchWithoutEnd() {
        Random random = new Random(42);
        byte[][] valid = {tls13Flight(0x001d), tls12Flight(0xc02c, 0x0018, 3000, 1000),
                cat(handshake(helloRetryRequest(0x0018)), CCS, handshake(tls13Hello(0x0018, 97)), ENCRYPTED)};
        for (int i = 0; i < 20_000; i++) {
            byte[] flight = valid[i % valid.length].clone();
            if (i % 4 == 0) {
                random.nextBytes(flight);
            } else {
                for (int k = 0; k < 1 + random.nextInt(4); k++) flight[random.nextInt(flight.length)] ^= (byte) (1 + random.nextInt(255));
            }
            ServerFlight f = fedInPieces(flight, i); // throws nothing: an exception fails the test
            String group = f.group();
            assertThat(group == null || group.equals("x25519") || group.equals("secp384r1") || group.startsWith("0x")
                    || group.matches("[A-Za-z0-9]+")).isTrue();
        }
        // Endless plausible handshake bytes: watched up to a bound, then never again.
        ServerFlight f = new ServerFlight();
        byte[] hello = {22, 3, 3, 0x40, 0, 11, 0x7f, (byte) 0xff, (byte) 0xff}; // a Certificate that never ends
        f.feed(hello, 0, hello.length);
        byte[] filler = new byte[1 << 14];
        int fed = 0;
        while (!f.done() && fed < 1 << 20) {
            byte[] record = cat(new byte[] {22, 3, 3, 0x40, 0}, filler);
            f.feed(record, 0, record.length);
            fed += record.length;
        }
        assertThat(f.done()).isTrue();
        assertThat(fed).as("bytes watched before giving up").isLessThanOrEqualTo(80 * 1024);
        assertThat(f.feed(null, 0, 10)).as("a done flight looks at nothing").isTrue();
    }
}
