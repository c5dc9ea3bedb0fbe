package dev.postern.inbound;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.postern.cli.Gateway;
import dev.postern.config.Config;
import dev.postern.config.ConfigLoader;
import dev.postern.testkit.SmtpTestClient;
import dev.postern.testkit.TestConfigs;
import dev.postern.tls.Certificates;
import dev.postern.tls.KeyMaterial;
import dev.postern.tls.Pem;
import dev.postern.tls.PeerCheck;
import dev.postern.tls.TestPki;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Inbound TLS policy against real clients: every kind of client (clear text, TLS without a certificate, with an
 * untrusted one, with the partner's) against every inbound setting (listener none / request / require, partner
 * rules), and relay authorised by client certificate on the submission listener.
 */
class InboundPolicyMatrixTest {
    @TempDir static Path dir;
    static Gateway gateway;
    static InetSocketAddress mxOpen;       // client_certificate = none, partner rules apply
    static InetSocketAddress mxRequest;    // client_certificate = request
    static InetSocketAddress mxRequire;    // client_certificate = require (partner CA)
    static InetSocketAddress submission;   // relay by certificate
    static InetSocketAddress submissionRequire; // relay by certificate, client_certificate = require (partner CA)
    static KeyMaterial partnerCa;
    static KeyMaterial partnerCert;        // gw.partner.example, issued by partnerCa
    static KeyMaterial strangerCert;       // self-signed, untrusted
    static KeyMaterial otherPartnerName;   // issued by partnerCa but for gw.other.example
    static KeyMaterial pinnedRelayCert;    // self-signed, pinned in relay_clients
    static KeyMaterial serverOnlyCert;     // gw.partner.example by partnerCa, extended key usage serverAuth only

    enum Client { CLEAR, TLS_NO_CERT, TLS_UNTRUSTED, TLS_PARTNER }

    @BeforeAll static void start() throws Exception {
        partnerCa = Certificates.certificateAuthority("Partner CA", Certificates.KeyType.EC_P256, Duration.ofDays(30));
        partnerCert = Certificates.issue(partnerCa, List.of("gw.partner.example"), Certificates.KeyType.EC_P256,
                Instant.now().minusSeconds(60), Duration.ofDays(10));
        otherPartnerName = Certificates.issue(partnerCa, List.of("gw.other.example"), Certificates.KeyType.EC_P256,
                Instant.now().minusSeconds(60), Duration.ofDays(10));
        strangerCert = Certificates.selfSigned(List.of("gw.partner.example"), Certificates.KeyType.EC_P256,
                Duration.ofDays(10));
        pinnedRelayCert = Certificates.selfSigned(List.of("app.internal.example"), Certificates.KeyType.EC_P256,
                Duration.ofDays(10));
        serverOnlyCert = TestPki.cert("gw.partner.example").issuer(TestPki.of(partnerCa)).dns("gw.partner.example")
                .usages(KeyPurposeId.id_kp_serverAuth).build().material(partnerCa.leaf());
        Path caFile = dir.resolve("partner-ca.pem");
        Pem.write(partnerCa, caFile, dir.resolve("partner-ca.key"));

        Config base = TestConfigs.gateway(dir.resolve("data"), "gw.test", Set.of("postern.test"));
        InetSocketAddress any = new InetSocketAddress("127.0.0.1", 0);
        Config.ListenerTls request = new Config.ListenerTls(false, Config.ClientCertificates.REQUEST, caFile,
                "TLSv1.2", List.of(), 0);
        Config.ListenerTls require = new Config.ListenerTls(true, Config.ClientCertificates.REQUIRE, caFile,
                "TLSv1.2", List.of(), 0);
        Config c = base.withListeners(List.of(
                new Config.Listener(any, Config.Role.MX),
                new Config.Listener(any, Config.Role.MX, request),
                new Config.Listener(any, Config.Role.MX, require),
                new Config.Listener(any, Config.Role.SUBMISSION),
                new Config.Listener(any, Config.Role.SUBMISSION, require)));
        // Names written in Unicode in a config file: the loader normalises them (UTS #46) to the lookup form.
        Path file = dir.resolve("idn.toml");
        Files.writeString(file, """
                relay_domains = ["Bücher.example", "straße.example"]
                [[partners]]
                name = "Händler partner"
                sender_domains = ["händler.example"]
                """);
        Config idn = ConfigLoader.load(file);
        c = new Config(c.source(), c.hostname(), c.dataDir(), c.listeners(), c.localDomains(), idn.relayDomains(),
                List.of(), c.tls(), c.limits(), c.queue(), c.delivery(), c.dns(), c.routes()); // no relay networks
        String pin = PeerCheck.inspect(pinnedRelayCert.chain(), Set.of(), Instant.now()).certSha256();
        c = c.withInbound(new Config.Inbound(
                List.of(new Config.Partner("partner.example", List.of("partner.example"), List.of(),
                        List.of("gw.partner.example"), true, true, caFile, "TLSv1.2", 0),
                        new Config.Partner("strong.example", List.of("strong.example"), List.of(), List.of(), true,
                                false, null, "TLSv1.3", 256),
                        idn.inbound().partners().getFirst()),
                List.of(new Config.RelayClient(List.of(pin), null, List.of()),
                        new Config.RelayClient(List.of(), caFile, List.of("*.partner.example")))));
        gateway = Gateway.start(c);
        List<InetSocketAddress> bound = gateway.boundAddresses();
        mxOpen = bound.get(0);
        mxRequest = bound.get(1);
        mxRequire = bound.get(2);
        submission = bound.get(3);
        submissionRequire = bound.get(4);
    }

    @AfterAll static void stop() {
        gateway.close();
    }

    /** Opens a session as the given kind of client and returns the reply to MAIL FROM. */
    static String mail(InetSocketAddress where, Client client, String sender) throws Exception {
        return mail(where, client, sender, "");
    }

    /** The same, with MAIL parameters (" SMTPUTF8"). */
    static String mail(InetSocketAddress where, Client client, String sender, String params) throws Exception {
        try (SmtpTestClient c = SmtpTestClient.connect(where)) {
            c.read();
            c.command("EHLO client.test");
            switch (client) {
                case CLEAR -> { }
                case TLS_NO_CERT -> c.startTls((KeyMaterial) null);
                case TLS_UNTRUSTED -> c.startTls(strangerCert);
                case TLS_PARTNER -> c.startTls(partnerCert);
            }
            if (client != Client.CLEAR) c.command("EHLO client.test");
            return c.command("MAIL FROM:<" + sender + ">" + params).last();
        }
    }

    @Test void partnerMatrixOnTheOpenListener() throws Exception {
        // Mail from partner.example: TLS and the partner's certificate (by its CA and name) are required.
        assertThat(mail(mxOpen, Client.CLEAR, "a@partner.example")).isEqualTo("530 5.7.0 TLS required for partner.example");
        // The open listener does not ask for certificates unless a partner needs one; this config has one that does.
        assertThat(mail(mxOpen, Client.TLS_NO_CERT, "a@partner.example"))
                .isEqualTo("550 5.7.1 client certificate required for partner.example");
        assertThat(mail(mxOpen, Client.TLS_UNTRUSTED, "a@partner.example"))
                .startsWith("550 5.7.1 client certificate required for partner.example: ");
        assertThat(mail(mxOpen, Client.TLS_PARTNER, "a@partner.example")).startsWith("250 2.1.0");
        // Anyone else is unaffected.
        for (Client c : Client.values()) assertThat(mail(mxOpen, c, "a@random.example")).startsWith("250 2.1.0");
    }

    /**
     * A partner rule keyed by a Unicode sender domain (in the config file) holds for every spelling of that domain in
     * MAIL FROM: Unicode in an SMTPUTF8 session, upper case, a trailing dot, full-width dots, and the A-label form.
     */
    @Test void partnerRuleHoldsForEverySpellingOfAUnicodeSenderDomain() throws Exception {
        String refused = "530 5.7.0 TLS required for Händler partner";
        for (String sender : List.of("a@händler.example", "a@HÄNDLER.Example.", "a@ｈäｎｄｌｅｒ。example")) {
            assertThat(mail(mxOpen, Client.CLEAR, sender, " SMTPUTF8")).as(sender).isEqualTo(refused);
            assertThat(mail(mxOpen, Client.TLS_NO_CERT, sender, " SMTPUTF8")).as(sender).startsWith("250 2.1.0");
        }
        assertThat(mail(mxOpen, Client.CLEAR, "a@xn--hndler-bua.example")).isEqualTo(refused);
        assertThat(mail(mxOpen, Client.CLEAR, "a@XN--HNDLER-BUA.example.")).isEqualTo(refused);
        assertThat(mail(mxOpen, Client.CLEAR, "a@handler.example")).startsWith("250 2.1.0");
    }

    /**
     * Relay domains written in Unicode relay every spelling of themselves and nothing else: IDNA2008 keeps ß, so
     * "straße.example" does not make strasse.example (IDNA2003's reading of it) a relay domain.
     */
    @Test void unicodeRelayDomainsRelayEverySpellingAndNothingElse() throws Exception {
        try (SmtpTestClient c = SmtpTestClient.connect(mxOpen)) {
            c.read();
            c.command("EHLO client.test");
            assertThat(c.command("MAIL FROM:<a@random.example> SMTPUTF8").code()).isEqualTo(250);
            for (String rcpt : List.of("x@bücher.example", "x@BÜCHER.Example.", "x@ｂücher。example",
                    "x@xn--bcher-kva.example", "x@straße.example", "x@STRAẞE.example", "x@xn--strae-oqa.example")) {
                assertThat(c.command("RCPT TO:<" + rcpt + ">").last()).as(rcpt).startsWith("250 2.1.5");
            }
            for (String rcpt : List.of("x@strasse.example", "x@bucher.example", "x@bücher.example.evil.example")) {
                assertThat(c.command("RCPT TO:<" + rcpt + ">").last()).as(rcpt)
                        .isEqualTo("554 5.7.1 Relay access denied");
            }
        }
    }

    @Test void partnerCertificateWithTheWrongNameIsRefused() throws Exception {
        try (SmtpTestClient c = SmtpTestClient.connect(mxOpen)) {
            c.read();
            c.command("EHLO client.test");
            c.startTls(otherPartnerName);
            c.command("EHLO client.test");
            assertThat(c.command("MAIL FROM:<a@partner.example>").last()).isEqualTo(
                    "550 5.7.1 client certificate required for partner.example: gw.other.example does not match "
                            + "gw.partner.example");
        }
    }

    @Test void partnerStrengthRule() throws Exception {
        // strong.example wants TLS 1.3 with 256-bit ciphers: our test client negotiates TLS 1.3 with AES-256.
        assertThat(mail(mxOpen, Client.CLEAR, "a@strong.example")).isEqualTo("530 5.7.0 TLS required for strong.example");
        assertThat(mail(mxOpen, Client.TLS_NO_CERT, "a@strong.example")).startsWith("250 2.1.0");
    }

    @Test void listenerSettingsMatrix() throws Exception {
        List<String> rows = new ArrayList<>();
        for (Client c : Client.values()) {
            rows.add("request " + c + " " + code(mail(mxRequest, c, "a@random.example")));
            rows.add("require " + c + " " + code(mail(mxRequire, c, "a@random.example")));
        }
        assertThat(rows).containsExactly(
                "request CLEAR 250", "require CLEAR 530",
                "request TLS_NO_CERT 250", "require TLS_NO_CERT 550",
                "request TLS_UNTRUSTED 250", "require TLS_UNTRUSTED 550",
                "request TLS_PARTNER 250", "require TLS_PARTNER 250");
    }

    @Test void receivedHeaderNamesTheVerifiedClientCertificate() throws Exception {
        try (SmtpTestClient c = SmtpTestClient.connect(mxRequest)) {
            c.read();
            c.command("EHLO client.test");
            c.startTls(partnerCert);
            c.command("EHLO client.test");
            c.command("MAIL FROM:<a@partner.example>");
            assertThat(c.command("RCPT TO:<certified@postern.test>").code()).isEqualTo(250);
            assertThat(c.command("DATA").code()).isEqualTo(354);
            c.send("Subject: cert\r\n\r\nhi\r\n.\r\n");
            assertThat(c.read().code()).isEqualTo(250);
        }
        Path box = dir.resolve("data/mail/postern.test/certified/new");
        await().atMost(Duration.ofSeconds(10)).until(() -> Files.isDirectory(box) && count(box) == 1);
        String stored;
        try (Stream<Path> s = Files.list(box)) {
            stored = Files.readString(s.findFirst().orElseThrow(), StandardCharsets.UTF_8);
        }
        assertThat(stored).contains("\t(Client CN \"gw.partner.example\", Issuer \"Partner CA\" (verified OK))\r\n");
    }

    /**
     * Neither the submission listener nor the open MX listener has a client CA; the certificate is verified by the
     * relay_clients rule's CA and by the partner's CA, and the Received header says so (it said "not verified").
     */
    @Test void receivedHeaderCountsTheCaOfTheRuleThatAcceptedTheCertificate() throws Exception {
        String expected = "\t(Client CN \"gw.partner.example\", Issuer \"Partner CA\" (verified OK))\r\n";
        assertThat(deliverWithPartnerCertificate(submission, "relayed@postern.test")).contains(expected)
                .contains(" (Postern) with ESMTPSA id ");
        assertThat(deliverWithPartnerCertificate(mxOpen, "partnered@postern.test")).contains(expected)
                .contains(" (Postern) with ESMTPS id ");
    }

    private static String deliverWithPartnerCertificate(InetSocketAddress where, String rcpt) throws Exception {
        try (SmtpTestClient c = SmtpTestClient.connect(where)) {
            c.read();
            c.command("EHLO client.test");
            c.startTls(partnerCert);
            c.command("EHLO client.test");
            assertThat(c.command("MAIL FROM:<a@partner.example>").code()).isEqualTo(250);
            assertThat(c.command("RCPT TO:<" + rcpt + ">").code()).isEqualTo(250);
            assertThat(c.command("DATA").code()).isEqualTo(354);
            c.send("Subject: cert\r\n\r\nhi\r\n.\r\n");
            assertThat(c.read().code()).isEqualTo(250);
        }
        Path box = dir.resolve("data/mail/postern.test/" + rcpt.substring(0, rcpt.indexOf('@')) + "/new");
        await().atMost(Duration.ofSeconds(10)).until(() -> Files.isDirectory(box) && count(box) == 1);
        try (Stream<Path> s = Files.list(box)) {
            return Files.readString(s.findFirst().orElseThrow(), StandardCharsets.UTF_8);
        }
    }

    @Test void relayByClientCertificateOnSubmission() throws Exception {
        // No relay networks are configured: only a certificate can open relaying.
        assertThat(relay(null)).isEqualTo("554 5.7.1 Relay access denied");
        assertThat(relay(strangerCert)).isEqualTo("554 5.7.1 Relay access denied");
        assertThat(relay(otherPartnerName)).isEqualTo("554 5.7.1 Relay access denied");
        assertThat(relay(pinnedRelayCert)).startsWith("250 2.1.5");
        assertThat(relay(partnerCert)).startsWith("250 2.1.5");
    }

    /**
     * A certificate from the trusted CA with the right name, but issued for TLS servers only (extended key usage
     * serverAuth), proves nothing about a client: it neither opens relaying nor satisfies a listener or partner that
     * requires a client certificate, and the reply says why.
     */
    @Test void serverOnlyCertificateIsNoClientCertificate() throws Exception {
        String why = "certificate is not for TLS clients: its extended key usage allows only serverAuth";
        assertThat(relay(serverOnlyCert)).isEqualTo("554 5.7.1 Relay access denied");
        try (SmtpTestClient c = SmtpTestClient.connect(submissionRequire)) {
            c.read();
            c.command("EHLO client.test");
            c.startTls(serverOnlyCert);
            c.command("EHLO client.test");
            assertThat(c.command("MAIL FROM:<app@internal.example>").last())
                    .isEqualTo("550 5.7.1 client certificate required: " + why);
        }
        try (SmtpTestClient c = SmtpTestClient.connect(submissionRequire)) {
            c.read();
            c.command("EHLO client.test");
            c.startTls(partnerCert);
            c.command("EHLO client.test");
            assertThat(c.command("MAIL FROM:<app@internal.example>").code()).isEqualTo(250);
            assertThat(c.command("RCPT TO:<someone@elsewhere.example>").last()).startsWith("250 2.1.5");
        }
        try (SmtpTestClient c = SmtpTestClient.connect(mxOpen)) {
            c.read();
            c.command("EHLO client.test");
            c.startTls(serverOnlyCert);
            c.command("EHLO client.test");
            assertThat(c.command("MAIL FROM:<a@partner.example>").last())
                    .isEqualTo("550 5.7.1 client certificate required for partner.example: " + why);
        }
    }

    @Test void authIsNeverOfferedInClearText() throws Exception {
        try (SmtpTestClient c = SmtpTestClient.connect(submission)) {
            c.read();
            assertThat(c.command("EHLO client.test").lines()).noneMatch(l -> l.contains("AUTH"));
        }
    }

    private static String relay(KeyMaterial cert) throws Exception {
        try (SmtpTestClient c = SmtpTestClient.connect(submission)) {
            c.read();
            c.command("EHLO client.test");
            c.startTls(cert);
            c.command("EHLO client.test");
            assertThat(c.command("MAIL FROM:<app@internal.example>").code()).isEqualTo(250);
            return c.command("RCPT TO:<someone@elsewhere.example>").last();
        }
    }

    private static String code(String reply) {
        return reply.substring(0, 3);
    }

    private static long count(Path p) throws java.io.IOException {
        try (Stream<Path> s = Files.list(p)) {
            return s.count();
        }
    }
}
