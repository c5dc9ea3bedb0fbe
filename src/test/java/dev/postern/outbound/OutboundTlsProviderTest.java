package dev.postern.outbound;

import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.audit.TlsSessionRecord;
import dev.postern.config.Config;
import dev.postern.config.Config.PolicyMode;
import dev.postern.config.Config.TlsLevel;
import dev.postern.dane.TlsaLookup;
import dev.postern.dns.Security;
import dev.postern.dns.TlsaRecord;
import dev.postern.dns.TlsaResult;
import dev.postern.tls.KeyMaterial;
import dev.postern.tls.Pem;
import dev.postern.tls.TlsFacts.ClientCertificate;
import dev.postern.tls.TlsProviders;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.ExtendedSSLSession;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code [delivery] tls_provider}: the key outbound TLS behaviours with the JDK's client and with Conscrypt's, against
 * a partner MX on loopback that is the JDK's TLS server (so it is not Postern): opportunistic delivery with SNI, the
 * key-exchange group and resumption recorded; verify success and failure; DANE-EE match and mismatch; a client
 * certificate presented; an enforced level never falling back to clear text.
 */
class OutboundTlsProviderTest {
    @TempDir static Path dir;
    static KeyMaterial bank;
    static KeyMaterial partnerServer;
    static SSLContext partnerTls;

    @BeforeAll static void setUp() throws Exception {
        PartnerMx partner = new PartnerMx();
        bank = partner.bank;
        partnerServer = partner.partnerServer;
        partnerTls = partner.tls;
        Pem.write(bank, dir.resolve("bank.pem"), dir.resolve("bank.key"));
        java.nio.file.Files.writeString(dir.resolve("partner-ca.pem"), Pem.certificate(partner.partnerCa.leaf()));
    }

    private static TlsPlanner planner(Config.TlsProvider provider) throws Exception {
        return new TlsPlanner(TlsProviders.of(provider));
    }

    private static TlsPolicies.Resolved resolved(Config.TlsPolicy policy) {
        return new TlsPolicies.Resolved("partner.example", policy, "test", Optional.empty(),
                TlsPolicies.SourceKind.STATIC);
    }

    private static Config.TlsPolicy policy(TlsLevel level, Path caFile, boolean clientCertificate) {
        return new Config.TlsPolicy(level, PolicyMode.ENFORCE, "TLSv1.2", List.of(), 0, 0, List.of(), caFile,
                List.of(), clientCertificate ? dir.resolve("bank.pem") : null,
                clientCertificate ? dir.resolve("bank.key") : null);
    }

    @ParameterizedTest @EnumSource(names = {"JDK", "CONSCRYPT"})
    void opportunisticDeliveryRecordsSniGroupAndResumes(Config.TlsProvider provider) throws Exception {
        TlsPlanner planner = planner(provider);
        TlsPlanner.Plan plan = planner.plan(resolved(policy(TlsLevel.MAY, null, false)), "mx.partner.example");
        try (ServerSocket listener = listener()) { // one port: both client session caches key on host and port
            Delivered first = deliver(listener, plan, true, false);
            // Conscrypt's session times are whole seconds: the second handshake starts in a later one
            Thread.sleep(1000 - System.currentTimeMillis() % 1000 + 20);
            Delivered second = deliver(listener, plan, true, false); // a new client (no idle connection), same contexts
            assertFirstAndSecond(provider, plan, first, second);
        }
    }

    private static void assertFirstAndSecond(Config.TlsProvider provider, TlsPlanner.Plan plan, Delivered first,
                                             Delivered second) {

        assertThat(first.attempt().outcome()).isEqualTo(SmtpClient.Outcome.COMPLETED);
        assertThat(first.partner().sni()).isEqualTo("mx.partner.example");
        assertThat(first.partner().lines()).contains("MAIL FROM:<a@bank.example>");
        TlsSessionRecord r = first.record();
        assertThat(r.protocol()).isEqualTo("TLSv1.3");
        assertThat(r.cipher()).isEqualTo("TLS_AES_256_GCM_SHA384"); // Postern's first preference, offered first
        assertThat(r.keyExchangeGroup()).isEqualTo("x25519");
        assertThat(r.sni()).isEqualTo("mx.partner.example");
        assertThat(r.resumed()).isFalse();
        assertThat(r.peerChain()).isNotEmpty();
        assertThat(second.attempt().outcome()).isEqualTo(SmtpClient.Outcome.COMPLETED);
        if (provider == Config.TlsProvider.JDK) {
            assertThat(second.record().resumed()).as("the second session resumes the first").isTrue();
        } else {
            // BoringSSL stamps a TLS 1.3 resumption's renewed session with the time of the new handshake, and
            // Conscrypt has no public "session reused" call: the audit cannot tell (it says not resumed). What is
            // checked here is that the session is kept in the context's client session cache for the next one.
            assertThat(java.util.Collections.list(plan.context().getClientSessionContext().getIds())).isNotEmpty();
        }
    }

    @ParameterizedTest @EnumSource(names = {"JDK", "CONSCRYPT"})
    void verifySucceedsOnTheRightNameAndFailsWithoutClearTextOnAWrongOne(Config.TlsProvider provider)
            throws Exception {
        TlsPlanner planner = planner(provider);
        Config.TlsPolicy verify = policy(TlsLevel.VERIFY, dir.resolve("partner-ca.pem"), false);
        Delivered good = deliver(planner.plan(resolved(verify), "mx.partner.example"), true, false);
        assertThat(good.attempt().outcome()).isEqualTo(SmtpClient.Outcome.COMPLETED);
        assertThat(good.attempt().verdict().verified()).isTrue();
        assertThat(good.record().verification()).isEqualTo(TlsSessionRecord.Verification.VERIFIED);

        Delivered wrong = deliver(planner.plan(resolved(verify), "mx.other.example"), true, false);
        assertThat(wrong.attempt().outcome()).isNotEqualTo(SmtpClient.Outcome.COMPLETED);
        assertThat(wrong.attempt().verdict().failure()).contains("name mismatch");
        assertThat(wrong.partner().lines()).noneMatch(l -> l.startsWith("MAIL"));
    }

    @ParameterizedTest @EnumSource(names = {"JDK", "CONSCRYPT"})
    void anEnforcedLevelNeverFallsBackToClearText(Config.TlsProvider provider) throws Exception {
        TlsPlanner.Plan plan = planner(provider).plan(resolved(policy(TlsLevel.ENCRYPT, null, false)),
                "mx.partner.example");
        Delivered d = deliver(plan, false, false); // the partner offers no STARTTLS
        assertThat(d.attempt().outcome()).isNotEqualTo(SmtpClient.Outcome.COMPLETED);
        assertThat(d.partner().lines()).noneMatch(l -> l.startsWith("MAIL"));
    }

    @ParameterizedTest @EnumSource(names = {"JDK", "CONSCRYPT"})
    void daneEeMatchesTheLeafKeyAndAMismatchIsRefused(Config.TlsProvider provider) throws Exception {
        TlsPlanner planner = planner(provider);
        byte[] spki = MessageDigest.getInstance("SHA-256").digest(partnerServer.leaf().getPublicKey().getEncoded());
        Config.TlsPolicy dane = policy(TlsLevel.DANE, null, false);
        Delivered match = deliver(planner.plan(resolved(dane), "mx.partner.example",
                secure(new TlsaRecord(3, 1, 1, spki)), null), true, false);
        assertThat(match.attempt().outcome()).isEqualTo(SmtpClient.Outcome.COMPLETED);
        assertThat(match.attempt().verdict().summary()).startsWith("DANE verified");

        Delivered mismatch = deliver(planner.plan(resolved(dane), "mx.partner.example",
                secure(new TlsaRecord(3, 1, 1, new byte[32])), null), true, false);
        assertThat(mismatch.attempt().outcome()).isNotEqualTo(SmtpClient.Outcome.COMPLETED);
        assertThat(mismatch.attempt().verdict().failure()).startsWith("TLSA mismatch");
        assertThat(mismatch.partner().lines()).noneMatch(l -> l.startsWith("MAIL"));
    }

    @ParameterizedTest @EnumSource(names = {"JDK", "CONSCRYPT"})
    void theClientCertificateIsPresentedWhenAsked(Config.TlsProvider provider) throws Exception {
        TlsPlanner.Plan plan = planner(provider).plan(resolved(policy(TlsLevel.ENCRYPT, null, true)),
                "mx.partner.example");
        Delivered d = deliver(plan, true, true);
        assertThat(d.attempt().outcome()).isEqualTo(SmtpClient.Outcome.COMPLETED);
        assertThat(d.partner().clientCertificate()).isEqualTo(bank.leaf());
        assertThat(d.attempt().tls().clientCertificate()).isEqualTo(ClientCertificate.SENT);
    }

    private static TlsaLookup.Found.Secure secure(TlsaRecord record) {
        return new TlsaLookup.Found.Secure(new TlsaResult("_25._tcp.mx.partner.example",
                "_25._tcp.mx.partner.example", List.of(record), Security.SECURE), "mx.partner.example",
                "mx.partner.example");
    }

    record Seen(List<String> lines, String sni, X509Certificate clientCertificate) {}

    record Delivered(SmtpClient.Attempt attempt, Seen partner, TlsSessionRecord record) {}

    private static ServerSocket listener() throws IOException {
        return new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
    }

    private static Delivered deliver(TlsPlanner.Plan plan, boolean offerStartTls, boolean ask) throws Exception {
        try (ServerSocket listener = listener()) {
            return deliver(listener, plan, offerStartTls, ask);
        }
    }

    private static Delivered deliver(ServerSocket listener, TlsPlanner.Plan plan, boolean offerStartTls, boolean ask)
            throws Exception {
        List<TlsSessionRecord> records = new CopyOnWriteArrayList<>();
        {
            CompletableFuture<Seen> seen = new CompletableFuture<>();
            Thread.ofVirtual().start(() -> {
                try (Socket plain = listener.accept()) {
                    plain.setSoTimeout(10_000);
                    seen.complete(partner(plain, offerStartTls, ask));
                } catch (Throwable e) {
                    seen.completeExceptionally(e);
                }
            });
            byte[] content = "Subject: hello\r\n\r\nHello.\r\n".getBytes(StandardCharsets.US_ASCII);
            SmtpClient.Message message = new SmtpClient.Message("a@bank.example", List.of("b@partner.example"),
                    content.length, false, false, () -> new ByteArrayInputStream(content));
            SmtpClient client = new SmtpClient("mail.bank.example", Duration.ofSeconds(5), Duration.ofSeconds(10),
                    Duration.ofSeconds(10), r -> {
                        if (r instanceof TlsSessionRecord t) records.add(t);
                    });
            SmtpClient.Attempt attempt = client.send(new NextHop("127.0.0.1", listener.getLocalPort()),
                    listener.getInetAddress(), message, plan);
            client.close();
            return new Delivered(attempt, seen.get(15, TimeUnit.SECONDS), records.isEmpty() ? null : records.getFirst());
        }
    }

    /** A minimal partner MX: EHLO, STARTTLS when offered, one transaction; says what it saw. */
    private static Seen partner(Socket plain, boolean offerStartTls, boolean ask) throws IOException {
        List<String> lines = new ArrayList<>();
        PartnerMx.Line clear = new PartnerMx.Line(plain, lines);
        clear.send("220 mx.partner.example ESMTP");
        if (clear.read() == null) return new Seen(lines, null, null);
        clear.send(offerStartTls ? "250-mx.partner.example\r\n250 STARTTLS" : "250 mx.partner.example");
        if (!offerStartTls) {
            drain(clear); // the client's next words, if any (QUIT), until it closes
            return new Seen(lines, null, null);
        }
        clear.read();
        clear.send("220 go ahead");
        SSLSocket tls = (SSLSocket) partnerTls.getSocketFactory().createSocket(plain, null, plain.getPort(), true);
        tls.setUseClientMode(false);
        tls.setWantClientAuth(ask);
        try {
            tls.startHandshake();
        } catch (IOException e) {
            return new Seen(lines, null, null);
        }
        String sni = null;
        if (tls.getSession() instanceof ExtendedSSLSession s) {
            sni = s.getRequestedServerNames().stream().filter(n -> n instanceof SNIHostName)
                    .map(n -> ((SNIHostName) n).getAsciiName()).findFirst().orElse(null);
        }
        X509Certificate got;
        try {
            got = (X509Certificate) tls.getSession().getPeerCertificates()[0];
        } catch (SSLPeerUnverifiedException e) {
            got = null;
        }
        PartnerMx.Line secure = new PartnerMx.Line(tls, lines);
        String line;
        try {
            while ((line = secure.read()) != null) {
                if (line.startsWith("EHLO")) secure.send("250 mx.partner.example");
                else if (line.startsWith("MAIL") || line.startsWith("RCPT")) secure.send("250 ok");
                else if (line.equals("DATA")) {
                    secure.send("354 go");
                    while ((line = secure.in.readLine()) != null && !line.equals(".")) {
                        // the message
                    }
                    secure.send("250 queued");
                } else if (line.equals("QUIT")) {
                    secure.send("221 bye");
                    break;
                } else secure.send("250 ok");
            }
        } catch (IOException e) {
            // the client went away (after a failed judgement it closes without a word)
        }
        return new Seen(lines, sni, got);
    }

    private static void drain(PartnerMx.Line line) {
        try {
            String l;
            while ((l = line.read()) != null) if (l.equals("QUIT")) line.send("221 bye");
        } catch (IOException e) {
            // closed
        }
    }

}
