package dev.postern.interop;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.postern.cli.Gateway;
import dev.postern.config.Config;
import dev.postern.queue.Envelope;
import dev.postern.queue.Spool;
import dev.postern.testkit.TestConfigs;
import dev.postern.tls.Certificates;
import dev.postern.tls.KeyMaterial;
import dev.postern.tls.Pem;
import dev.postern.tls.PeerCheck;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Pattern;
import org.awaitility.core.ConditionTimeoutException;
import org.awaitility.core.TerminalFailureException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The TLS policy engine against a real Postfix 3.7 on both sides of Postern, all on loopback with one test CA:
 * <pre>
 *   test ─▶ Postfix "pfx.partner.test" ─(client certificate or not, TLS or clear)─▶ Postern submission / MX
 *   test ─▶ Postern MX ─(outbound policy per destination domain, static routes)─▶ Postfix "mx.pfx.test"
 * </pre>
 * Inbound: relay by client certificate ({@code [[relay_clients]]}) on the submission listener with no relay networks,
 * and a {@code [[partners]]} rule on the MX listener. Outbound: the levels secure (right and wrong name), encrypt
 * against a server without STARTTLS, fingerprint, and a client certificate that Postfix requires and verifies.
 *
 * <p>Two Postfix instances serve everything: the sending one has extra smtp transports in master.cf (one without a
 * client certificate, one in clear text) chosen per recipient address by its transport map, and the receiving one has
 * three smtpd listeners (STARTTLS offered; no STARTTLS; client certificate required), each logging under its own
 * name ({@code postfix/smtpd}, {@code postfix/plain/smtpd}, {@code postfix/ccert/smtpd}).
 */
class PostfixTlsPolicyTest {
    static final String POSTERN = "gw.postern.test";
    static final String SENDING_PFX = "pfx.partner.test";
    static final String RECEIVING_PFX = "mx.pfx.test";
    static final String CA_NAME = "Postern Interop CA";

    @TempDir static Path tmp;
    static Gateway postern;
    static InetSocketAddress posternMx;
    static InetSocketAddress posternSubmission;
    static PostfixInstance sending;
    static PostfixInstance receiving;
    static int receivingTls;
    static int receivingPlain;
    static int receivingCcert;

    @BeforeAll static void start() throws Exception {
        Peers.postfix();
        Path tls = Files.createDirectories(tmp.resolve("tls"));
        KeyMaterial ca = Certificates.certificateAuthority(CA_NAME, Certificates.KeyType.EC_P256, Duration.ofDays(2));
        Path caFile = tls.resolve("ca.crt");
        Pem.write(ca, caFile, tls.resolve("ca.key"));
        Instant from = Instant.now().minusSeconds(60);
        Path[] sendingCert = write(Certificates.issue(ca, List.of(SENDING_PFX), Certificates.KeyType.EC_P256, from,
                Duration.ofDays(1)), tls, "sending");
        KeyMaterial receivingMaterial = Certificates.issue(ca, List.of(RECEIVING_PFX), Certificates.KeyType.EC_P256,
                from, Duration.ofDays(1));
        Path[] receivingCert = write(receivingMaterial, tls, "receiving");
        Path[] posternClient = write(Certificates.issue(ca, List.of(POSTERN), Certificates.KeyType.EC_P256, from,
                Duration.ofDays(1)), tls, "postern-client");
        String pin = PeerCheck.inspect(receivingMaterial.chain(), Set.of(), Instant.now()).certSha256();

        receivingTls = Peers.freePort();
        receivingPlain = Peers.freePort();
        receivingCcert = Peers.freePort();
        Map<String, Config.Route> routes = new LinkedHashMap<>();
        routes.put("far.example", hop(receivingTls));
        routes.put("secure.pfx.test", hop(receivingTls));
        routes.put("mismatch.pfx.test", hop(receivingTls));
        routes.put("pinned.pfx.test", hop(receivingTls));
        routes.put("plain.pfx.test", hop(receivingPlain));
        routes.put("ccert.pfx.test", hop(receivingCcert));
        routes.put("noccert.pfx.test", hop(receivingCcert));
        Config.TlsPolicy encrypt = Config.TlsPolicy.of(Config.TlsLevel.ENCRYPT);
        Map<String, Config.TlsPolicy> policies = Map.of(
                "secure.pfx.test", policy(Config.TlsLevel.SECURE, List.of(RECEIVING_PFX), caFile, List.of(), null),
                "mismatch.pfx.test", policy(Config.TlsLevel.SECURE, List.of("wrong.example"), caFile, List.of(), null),
                "pinned.pfx.test", policy(Config.TlsLevel.FINGERPRINT, List.of(), null, List.of(pin), null),
                "plain.pfx.test", encrypt,
                "ccert.pfx.test", policy(Config.TlsLevel.ENCRYPT, List.of(), null, List.of(), posternClient),
                "noccert.pfx.test", encrypt);

        Config base = TestConfigs.gateway(tmp.resolve("postern"), POSTERN, Set.of("postern.test"));
        InetSocketAddress any = new InetSocketAddress("127.0.0.1", 0);
        // The MX listener relays only for the test's outbound domains (so that the test can inject over it); the
        // submission listener has no relay networks at all: only a relay_clients certificate opens relaying.
        Set<String> outbound = Set.copyOf(policies.keySet());
        Config c = new Config(null, POSTERN, base.dataDir(), List.of(new Config.Listener(any, Config.Role.MX),
                new Config.Listener(any, Config.Role.SUBMISSION)), base.localDomains(), outbound, List.of(),
                base.tls(), base.limits(), base.queue(), base.delivery(), base.dns(), routes)
                .withOutboundTls(new Config.OutboundTls(Config.TlsPolicy.of(Config.TlsLevel.MAY), policies))
                .withInbound(new Config.Inbound(
                        List.of(new Config.Partner("partner.test", List.of("partner.test"), List.of(), List.of(),
                                true, true, caFile, "TLSv1.2", 0)),
                        List.of(new Config.RelayClient(List.of(), caFile, List.of("*.partner.test")))));
        postern = Gateway.start(c);
        posternMx = postern.boundAddresses().get(0);
        posternSubmission = postern.boundAddresses().get(1);

        PostfixInstance.Settings sendingSettings = new PostfixInstance.Settings(SENDING_PFX)
                .set("smtp_tls_security_level", "encrypt")
                .set("smtp_tls_cert_file", sendingCert[0].toString())
                .set("smtp_tls_key_file", sendingCert[1].toString())
                .set("smtp_connection_cache_on_demand", "no")
                .client("nocert", Map.of("smtp_tls_cert_file", "", "smtp_tls_key_file", ""))
                .client("cleartext", Map.of("smtp_tls_security_level", "none"))
                .route("far.example", posternSubmission.getPort())
                .route("nocert@far.example", "nocert", posternSubmission.getPort())
                .route("partner@postern.test", "smtp", posternMx.getPort())
                .route("clear@postern.test", "cleartext", posternMx.getPort())
                .route("nocert@postern.test", "nocert", posternMx.getPort());
        PostfixInstance.Settings receivingSettings = new PostfixInstance.Settings(RECEIVING_PFX)
                .set("smtpd_tls_security_level", "may")
                .set("smtpd_tls_cert_file", receivingCert[0].toString())
                .set("smtpd_tls_key_file", receivingCert[1].toString())
                .set("smtpd_tls_received_header", "yes")
                .smtpd(receivingPlain, "plain", Map.of("smtpd_tls_security_level", "none"))
                .smtpd(receivingCcert, "ccert", Map.of("smtpd_tls_security_level", "encrypt",
                        "smtpd_tls_req_ccert", "yes", "smtpd_tls_CAfile", caFile.toString()));
        for (String rcpt : List.of("rcpt@far.example", "nocert@far.example", "user@secure.pfx.test",
                "user@mismatch.pfx.test", "user@pinned.pfx.test", "user@plain.pfx.test", "user@ccert.pfx.test",
                "user@noccert.pfx.test")) {
            receivingSettings.mailbox(rcpt);
        }
        // Both instances start at once (each takes about 2 s on a fresh queue directory).
        try (ExecutorService pool = Executors.newFixedThreadPool(2)) {
            Future<PostfixInstance> s = pool.submit(() -> PostfixInstance.start(tmp.resolve("pfx-sending"),
                    Peers.freePort(), sendingSettings));
            Future<PostfixInstance> r = pool.submit(() -> PostfixInstance.start(tmp.resolve("pfx-receiving"),
                    receivingTls, receivingSettings));
            List<Throwable> failures = new ArrayList<>();
            try {
                sending = s.get();
            } catch (Exception e) {
                failures.add(e);
            }
            try {
                receiving = r.get();
            } catch (Exception e) {
                failures.add(e);
            }
            if (!failures.isEmpty()) {
                AssertionError e = new AssertionError("a Postfix instance did not start", failures.getFirst());
                failures.stream().skip(1).forEach(e::addSuppressed);
                throw e;
            }
        }
    }

    @AfterAll static void stop() {
        try {
            if (sending != null) sending.close();
        } finally {
            try {
                if (receiving != null) receiving.close();
            } finally {
                if (postern != null) postern.close();
            }
        }
    }

    // ---- inbound: Postfix as the client ----

    /**
     * Postfix presents a certificate from the test CA for pfx.partner.test; Postern's submission listener has no
     * relay networks, so only the relay_clients rule lets the foreign recipient in. Postern then relays it on to the
     * receiving Postfix, whose Maildir shows Postern's Received header with the verified client certificate.
     */
    @Test void postfixWithClientCertificateMayRelay() throws Exception {
        String id = injectIntoSendingPostfix("app@apps.example", "rcpt@far.example", "relay by certificate");
        sending.awaitLog(id + ": to=<rcpt@far\\.example>, relay=127\\.0\\.0\\.1\\[127\\.0\\.0\\.1\\]:"
                + posternSubmission.getPort() + ",.* status=sent \\(250 2\\.0\\.0 Ok: queued as ", Duration.ofSeconds(15));

        String stored = Mail.awaitOne(receiving.maildir("rcpt@far.example"), this::diagnostics);
        assertThat(stored).as(stored).containsPattern("(?m)^Received: from " + q(SENDING_PFX)
                + " \\(\\[127\\.0\\.0\\.1\\]\\)\n\t\\(using TLSv1\\.[23] with cipher \\S+ \\(\\d+/\\d+ bits\\)\\)\n"
                + "\t\\(Client CN \"" + q(SENDING_PFX) + "\", Issuer \"" + q(CA_NAME) + "\" \\(verified OK\\)\\)\n"
                + "\tby " + q(POSTERN) + " \\(Postern\\) with ESMTPSA id \\S+\n\tfor <rcpt@far\\.example>; ");
        assertThat(stored).as(stored).contains("Subject: relay by certificate\n");
    }

    /** The same Postfix, through a transport without the client certificate: 554 5.7.1, and Postfix bounces it. */
    @Test void postfixWithoutClientCertificateIsRefusedRelay() throws Exception {
        String id = injectIntoSendingPostfix("app@apps.example", "nocert@far.example", "relay without certificate");
        String bounced = sending.awaitLog(id + ": to=<nocert@far\\.example>, relay=127\\.0\\.0\\.1\\[127\\.0\\.0\\.1\\]:"
                + posternSubmission.getPort() + ",.* status=bounced ", Duration.ofSeconds(15));
        assertThat(bounced).contains("said: 554 5.7.1 Relay access denied (in reply to RCPT TO command)");
        // Postfix did make TLS with Postern (the submission listener requires it), just without a certificate.
        assertThat(sending.log()).containsPattern("TLS connection established to 127\\.0\\.0\\.1\\[127\\.0\\.0\\.1\\]:"
                + posternSubmission.getPort() + ": TLSv1\\.[23] ");
        assertThat(queuedFor("nocert@far.example")).isEmpty();
        assertThat(receiving.logLines("nocert@far\\.example")).isEmpty();
    }

    /** A partner rule for partner.test (TLS and a certificate from the test CA) on the MX listener. */
    @Test void partnerRuleOnTheMxListener() throws Exception {
        String clear = injectIntoSendingPostfix("x@partner.test", "clear@postern.test", "partner in clear text");
        String noCert = injectIntoSendingPostfix("x@partner.test", "nocert@postern.test", "partner without cert");
        String good = injectIntoSendingPostfix("x@partner.test", "partner@postern.test", "partner with cert");
        String relay = "relay=127\\.0\\.0\\.1\\[127\\.0\\.0\\.1\\]:" + posternMx.getPort() + ",.* ";

        assertThat(sending.awaitLog(clear + ": to=<clear@postern\\.test>, " + relay + "status=bounced ",
                Duration.ofSeconds(15))).contains(
                        "said: 530 5.7.0 TLS required for partner.test (in reply to MAIL FROM command)");
        assertThat(sending.awaitLog(noCert + ": to=<nocert@postern\\.test>, " + relay + "status=bounced ",
                Duration.ofSeconds(15))).contains(
                        "said: 550 5.7.1 client certificate required for partner.test (in reply to MAIL FROM command)");
        sending.awaitLog(good + ": to=<partner@postern\\.test>, " + relay + "status=sent \\(250 2\\.0\\.0 Ok: queued as ",
                Duration.ofSeconds(15));

        Path data = tmp.resolve("postern");
        String stored = Mail.awaitOne(Mail.posternMaildir(data, "partner@postern.test"), this::diagnostics);
        assertThat(stored).as(stored).containsPattern("^Delivered-To: partner@postern\\.test\r\nReceived: from "
                + q(SENDING_PFX) + " \\(\\[127\\.0\\.0\\.1\\]\\)\r\n\t\\(using TLSv1\\.[23] with cipher [^\r]+\r\n"
                + "\t\\(Client CN \"" + q(SENDING_PFX) + "\", Issuer \"" + q(CA_NAME) + "\" \\(verified OK\\)\\)\r\n"
                + "\tby " + q(POSTERN) + " \\(Postern\\) with ESMTPS id ");
        assertThat(Mail.count(Mail.posternMaildir(data, "clear@postern.test").resolve("new"))).isZero();
        assertThat(Mail.count(Mail.posternMaildir(data, "nocert@postern.test").resolve("new"))).isZero();
    }

    // ---- outbound: Postern as the client, under enforced levels ----

    /** secure, trust anchor = test CA, match = the receiving Postfix's name: delivered over verified TLS. */
    @Test void secureWithTheRightNameDelivers() throws Exception {
        String stored = sendThroughPostern("user@secure.pfx.test");
        assertThat(stored).as(stored).containsPattern("(?m)^Received: from " + q(POSTERN)
                + " \\(unknown \\[127\\.0\\.0\\.1\\]\\)\n\t\\(using TLSv1\\.[23] with cipher ");
        assertThat(receiving.logLines("postfix/virtual\\[\\d+\\]: \\w+: to=<user@secure\\.pfx\\.test>,.* status=sent"))
                .hasSize(1);
    }

    /** secure with a match list the certificate does not satisfy: deferred with 4.7.10, nothing reaches Postfix. */
    @Test void secureWithTheWrongNameDefers() throws Exception {
        String lastResult = sendAndAwaitDeferral("user@mismatch.pfx.test");
        assertThat(lastResult).contains("4.7.10", "TLS required by policy for mismatch.pfx.test",
                "certificate name mismatch: " + RECEIVING_PFX + " does not match wrong.example");
        assertNeverReachedPostfix("user@mismatch.pfx.test");
    }

    /** encrypt against a Postfix listener without STARTTLS: deferred, never clear text. */
    @Test void encryptAgainstNoStartTlsDefers() throws Exception {
        String lastResult = sendAndAwaitDeferral("user@plain.pfx.test");
        assertThat(lastResult).contains("4.7.10", "127.0.0.1[127.0.0.1]:" + receivingPlain
                + ": does not offer STARTTLS");
        // Postern did talk to that listener, and left after EHLO without a transaction.
        receiving.awaitLog("postfix/plain/smtpd\\[\\d+\\]: disconnect from unknown\\[127\\.0\\.0\\.1\\] ehlo=1 quit=1",
                Duration.ofSeconds(5));
        assertNeverReachedPostfix("user@plain.pfx.test");
    }

    /** fingerprint with the SHA-256 of the receiving Postfix's certificate: delivered (no CA involved). */
    @Test void fingerprintWithTheRightPinDelivers() throws Exception {
        String stored = sendThroughPostern("user@pinned.pfx.test");
        assertThat(stored).as(stored).containsPattern("(?m)^Received: from " + q(POSTERN)
                + " \\(unknown \\[127\\.0\\.0\\.1\\]\\)\n\t\\(using TLSv1\\.[23] with cipher ");
    }

    /**
     * A Postfix listener that requires client certificates from the test CA: Postern's policy presents one and the
     * message is delivered, with Postfix's verdict on the certificate in its Received header and log; the same
     * listener without Postern's certificate is refused.
     */
    @Test void clientCertificateRequiredByPostfix() throws Exception {
        String stored = sendThroughPostern("user@ccert.pfx.test");
        assertThat(stored).as(stored).containsPattern("(?m)^Received: from " + q(POSTERN)
                + " \\(unknown \\[127\\.0\\.0\\.1\\]\\)\n\t\\(using TLSv1\\.[23] with cipher [^\n]+\n(?:\t [^\n]+\n)*"
                + "\t\\(Client CN \"" + q(POSTERN) + "\", Issuer \"" + q(CA_NAME) + "\" \\(verified OK\\)\\)\n");
        assertThat(receiving.log()).containsPattern("postfix/ccert/smtpd\\[\\d+\\]: Trusted TLS connection "
                + "established from unknown\\[127\\.0\\.0\\.1\\]: TLSv1\\.[23] ");

        String lastResult = sendAndAwaitDeferral("user@noccert.pfx.test");
        // Postfix ends the session after the handshake: Postern showed no certificate.
        assertThat(lastResult).as(lastResult).contains("127.0.0.1[127.0.0.1]:" + receivingCcert,
                "421 4.7.1 " + RECEIVING_PFX + " Error: No client certificate presented");
        receiving.awaitLog("postfix/ccert/smtpd\\[\\d+\\]: NOQUEUE: abort: TLS from unknown\\[127\\.0\\.0\\.1\\]: "
                + "No client certificate presented", Duration.ofSeconds(5));
        assertNeverReachedPostfix("user@noccert.pfx.test");
    }

    // ---- helpers ----

    /** Sends a message into the sending Postfix over SMTP; returns its Postfix queue id. */
    private String injectIntoSendingPostfix(String from, String rcpt, String subject) throws IOException {
        String body = "From: " + from + "\r\nTo: " + rcpt + "\r\nSubject: " + subject + "\r\n\r\nHello\r\n";
        String reply = Mail.send(new InetSocketAddress("127.0.0.1", sending.port()), false, from, rcpt, body).text();
        var m = Pattern.compile("queued as (\\w+)").matcher(reply);
        assertThat(m.find()).as(reply).isTrue();
        return m.group(1);
    }

    /** Sends a message into Postern's MX for {@code rcpt}; returns it as the receiving Postfix's Maildir holds it. */
    private String sendThroughPostern(String rcpt) throws IOException {
        send(rcpt);
        return Mail.awaitOne(receiving.maildir(rcpt), this::diagnostics);
    }

    private void send(String rcpt) throws IOException {
        Mail.send(posternMx, true, "alice@postern.test", rcpt, "From: alice@postern.test\r\nTo: " + rcpt
                + "\r\nSubject: policy test\r\n\r\nHello\r\n");
    }

    /** Sends a message into Postern for {@code rcpt}, waits for its first failed attempt; returns the lastResult. */
    private String sendAndAwaitDeferral(String rcpt) throws IOException {
        send(rcpt);
        try {
            await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(100))
                    .failFast("delivered to Postfix against the policy",
                            () -> Mail.count(receiving.maildir(rcpt).resolve("new")) > 0)
                    .until(() -> queuedFor(rcpt).filter(r -> r.attempts() > 0).isPresent());
        } catch (ConditionTimeoutException | TerminalFailureException e) {
            throw new AssertionError("no failed attempt for " + rcpt + " in Postern's spool (" + e.getMessage()
                    + ")\n" + diagnostics(), e);
        }
        Envelope.Recipient r = queuedFor(rcpt).orElseThrow();
        assertThat(r.status()).as(r.toString()).isEqualTo(Envelope.Recipient.Status.PENDING);
        return r.lastResult();
    }

    /** The recipient as Postern's spool holds it, if it is queued. */
    private static Optional<Envelope.Recipient> queuedFor(String rcpt) throws IOException {
        for (Spool.Entry e : postern.spool().list()) {
            for (Envelope.Recipient r : e.envelope().recipients()) {
                if (r.address().equals(rcpt)) return Optional.of(r);
            }
        }
        return Optional.empty();
    }

    /** Nothing for {@code rcpt} in the receiving Postfix: not in its log (no RCPT, no delivery), not in a Maildir. */
    private static void assertNeverReachedPostfix(String rcpt) throws IOException {
        assertThat(receiving.logLines(Pattern.quote(rcpt))).as(receiving::diagnostics).isEmpty();
        assertThat(Mail.count(receiving.maildir(rcpt).resolve("new"))).isZero();
    }

    private String diagnostics() {
        StringBuilder b = new StringBuilder();
        try {
            for (Spool.Entry e : postern.spool().list()) b.append("postern queue: ").append(e).append('\n');
        } catch (IOException e) {
            b.append(e).append('\n');
        }
        return b + "=== sending Postfix\n" + sending.diagnostics() + "=== receiving Postfix\n"
                + receiving.diagnostics();
    }

    private static Config.Route hop(int port) {
        return new Config.Route("127.0.0.1", port, false);
    }

    private static Config.TlsPolicy policy(Config.TlsLevel level, List<String> match, Path caFile, List<String> pins,
                                           Path[] clientCertificate) {
        return new Config.TlsPolicy(level, Config.PolicyMode.ENFORCE, "TLSv1.2", List.of(), 0, 0, match, caFile,
                pins, clientCertificate == null ? null : clientCertificate[0],
                clientCertificate == null ? null : clientCertificate[1]);
    }

    private static Path[] write(KeyMaterial material, Path dir, String name) throws IOException {
        Path crt = dir.resolve(name + ".crt");
        Path key = dir.resolve(name + ".key");
        Pem.write(material, crt, key);
        return new Path[] {crt, key};
    }

    private static String q(String literal) {
        return Pattern.quote(literal);
    }
}
