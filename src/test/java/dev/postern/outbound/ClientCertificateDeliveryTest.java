package dev.postern.outbound;

import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.config.Config;
import dev.postern.config.Config.PolicyMode;
import dev.postern.config.Config.TlsLevel;
import dev.postern.tls.KeyMaterial;
import dev.postern.tls.Pem;
import dev.postern.tls.TlsFacts.ClientCertificate;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 11 item 5 at the delivery level: a policy with a {@code client_certificate}, delivering over STARTTLS to a
 * partner server that asks for a certificate and lists only its own CA (not ours): the partner gets our certificate,
 * and the delivery result's TLS facts say the server asked and got it; a partner that does not ask is recorded as
 * not asking.
 */
class ClientCertificateDeliveryTest {
    @TempDir static Path dir;
    static PartnerMx partner;
    static KeyMaterial bank;
    static Config.TlsPolicy policy;

    @BeforeAll static void setUp() throws Exception {
        partner = new PartnerMx();
        bank = partner.bank;
        Pem.write(bank, dir.resolve("bank.pem"), dir.resolve("bank.key"));
        policy = new Config.TlsPolicy(TlsLevel.ENCRYPT, PolicyMode.ENFORCE, "TLSv1.2", List.of(), 0, 0, List.of(),
                null, List.of(), dir.resolve("bank.pem"), dir.resolve("bank.key"));
    }

    @Test void theCertificateIsSentAndTheRequestRecorded() throws Exception {
        Delivered d = deliver(true);
        assertThat(d.attempt().outcome()).isEqualTo(SmtpClient.Outcome.COMPLETED);
        assertThat(d.serverGot()).isEqualTo(bank.leaf());
        assertThat(d.attempt().tls().clientCertificate()).isEqualTo(ClientCertificate.SENT);
    }

    @Test void aServerThatDoesNotAskIsRecordedAsNotAsking() throws Exception {
        Delivered d = deliver(false);
        assertThat(d.attempt().outcome()).isEqualTo(SmtpClient.Outcome.COMPLETED);
        assertThat(d.serverGot()).isNull();
        assertThat(d.attempt().tls().clientCertificate()).isEqualTo(ClientCertificate.NOT_ASKED);
    }

    record Delivered(SmtpClient.Attempt attempt, X509Certificate serverGot) {}

    private static Delivered deliver(boolean askForCertificate) throws Exception {
        SSLContext server = partner.tls;
        try (ServerSocket listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            CompletableFuture<X509Certificate> got = new CompletableFuture<>();
            Thread.ofVirtual().start(() -> {
                try (Socket plain = listener.accept()) {
                    plain.setSoTimeout(10_000);
                    got.complete(partner(plain, server, askForCertificate));
                } catch (Throwable e) {
                    got.completeExceptionally(e);
                }
            });
            TlsPlanner.Plan plan = new TlsPlanner().plan(
                    new TlsPolicies.Resolved("partner.example", policy, "test", Optional.empty(),
                            TlsPolicies.SourceKind.STATIC), "127.0.0.1");
            byte[] content = "Subject: hello\r\n\r\nHello.\r\n".getBytes(StandardCharsets.US_ASCII);
            SmtpClient.Message message = new SmtpClient.Message("a@bank.example", List.of("b@partner.example"),
                    content.length, false, false, () -> new ByteArrayInputStream(content));
            SmtpClient client = new SmtpClient("mail.bank.example", Duration.ofSeconds(5), Duration.ofSeconds(10),
                    Duration.ofSeconds(10));
            SmtpClient.Attempt attempt = client.send(new NextHop("127.0.0.1", listener.getLocalPort()),
                    listener.getInetAddress(), message, plan);
            return new Delivered(attempt, got.get(15, TimeUnit.SECONDS));
        }
    }

    /** A minimal partner MX: STARTTLS, then one transaction; returns the client certificate it received, or null. */
    private static X509Certificate partner(Socket plain, SSLContext context, boolean ask) throws IOException {
        PartnerMx.Line clear = new PartnerMx.Line(plain);
        clear.send("220 mx.partner.example ESMTP");
        clear.expect("EHLO");
        clear.send("250-mx.partner.example\r\n250 STARTTLS");
        clear.expect("STARTTLS");
        clear.send("220 go ahead");
        SSLSocket tls = (SSLSocket) context.getSocketFactory().createSocket(plain, null, plain.getPort(), true);
        tls.setUseClientMode(false);
        tls.setWantClientAuth(ask);
        tls.startHandshake();
        X509Certificate got;
        try {
            got = (X509Certificate) tls.getSession().getPeerCertificates()[0];
        } catch (SSLPeerUnverifiedException e) {
            got = null;
        }
        PartnerMx.Line secure = new PartnerMx.Line(tls);
        secure.expect("EHLO");
        secure.send("250 mx.partner.example");
        secure.expect("MAIL");
        secure.send("250 ok");
        secure.expect("RCPT");
        secure.send("250 ok");
        secure.expect("DATA");
        secure.send("354 go");
        String line;
        while ((line = secure.in.readLine()) != null && !line.equals(".")) {
            // the message
        }
        secure.send("250 queued"); // the client may keep the connection for its next message: no QUIT awaited
        return got;
    }

}
