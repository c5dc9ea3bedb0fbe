package dev.postern.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.postern.tls.Certificates.KeyType;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/** The server context follows its files: at most one look per interval, new files served, broken files not. */
class ReloadingServerContextTest {
    static final Duration INTERVAL = Duration.ofSeconds(2);

    @TempDir Path dir;
    Path cert;
    Path key;
    final AtomicLong clock = new AtomicLong(1_000_000_000L);
    final ListAppender<ILoggingEvent> logged = new ListAppender<>();
    final Logger logger = (Logger) LoggerFactory.getLogger(ReloadingServerContext.class);

    @BeforeEach void setUp() {
        cert = dir.resolve("cert.pem");
        key = dir.resolve("key.pem");
        logged.start();
        logger.addAppender(logged);
    }

    @AfterEach void tearDown() {
        logger.detachAppender(logged);
    }

    static KeyMaterial certificate(String host) {
        return Certificates.selfSigned(List.of(host), KeyType.EC_P256, Duration.ofDays(30));
    }

    ReloadingServerContext load() throws TlsConfigException {
        return ReloadingServerContext.load(cert, key, INTERVAL, clock::get);
    }

    void elapse(Duration d) {
        clock.addAndGet(d.toNanos());
    }

    List<String> errors() {
        return logged.list.stream().filter(e -> e.getLevel() == Level.ERROR).map(ILoggingEvent::getFormattedMessage)
                .toList();
    }

    @Test void servesTheNewCertificateAfterTheFilesChangeButLooksAtMostOncePerInterval() throws Exception {
        KeyMaterial a = certificate("a.example");
        KeyMaterial b = certificate("b.example");
        Pem.write(a, cert, key);
        ReloadingServerContext context = load();
        SSLContext first = context.get();
        assertThat(context.current().leaf()).isEqualTo(a.leaf());
        assertThat(served(first)).isEqualTo(a.leaf());

        Pem.write(b, cert, key); // temp file and rename, as certbot and friends do
        elapse(Duration.ofMillis(1900));
        assertThat(context.get()).as("not looked at again within the interval").isSameAs(first);

        elapse(Duration.ofMillis(200));
        SSLContext second = context.get();
        assertThat(second).isNotSameAs(first);
        assertThat(context.current().leaf()).isEqualTo(b.leaf());
        assertThat(served(second)).isEqualTo(b.leaf());
        assertThat(served(first)).as("a context handed out before keeps its certificate").isEqualTo(a.leaf());

        elapse(INTERVAL);
        assertThat(context.get()).as("unchanged files: same context").isSameAs(second);
        assertThat(errors()).isEmpty();
        assertThat(logged.list).anySatisfy(e -> assertThat(e.getFormattedMessage()).contains("reloaded")
                .contains("CN=b.example"));
    }

    @Test void aChangeOfTheSameSizeWithinTheSameSecondIsSeen() throws Exception {
        KeyMaterial a = certificate("a.example");
        Pem.write(a, cert, key);
        // B in files of exactly A's sizes (ECDSA signatures vary by a byte or two): only the file identity differs.
        Path stagedCert = dir.resolve("b.crt");
        Path stagedKey = dir.resolve("b.key");
        KeyMaterial b;
        do {
            b = certificate("b.example");
            Pem.write(b, stagedCert, stagedKey);
        } while (Files.size(stagedCert) != Files.size(cert) || Files.size(stagedKey) != Files.size(key));
        ReloadingServerContext context = load();
        var certTime = Files.getLastModifiedTime(cert);
        var keyTime = Files.getLastModifiedTime(key);
        Pem.write(b, cert, key);
        Files.setLastModifiedTime(cert, certTime); // as if within the same tick of a coarse clock
        Files.setLastModifiedTime(key, keyTime);
        elapse(INTERVAL);

        context.get();

        assertThat(context.current().leaf()).isEqualTo(b.leaf());
    }

    @Test void keepsServingTheOldCertificateWhenTheNewKeyDoesNotMatchAndLogsOneErrorLine() throws Exception {
        KeyMaterial a = certificate("a.example");
        KeyMaterial b = certificate("b.example");
        Pem.write(a, cert, key);
        ReloadingServerContext context = load();
        SSLContext first = context.get();

        Pem.write(new KeyMaterial(a.key(), b.chain()), cert, key); // certificate B with A's key
        for (int i = 0; i < 5; i++) {
            elapse(INTERVAL);
            assertThat(context.get()).isSameAs(first);
        }

        assertThat(context.current().leaf()).isEqualTo(a.leaf());
        assertThat(errors()).singleElement().asString().contains("key does not match certificate")
                .contains("still serving CN=a.example");

        Pem.write(b, cert, key); // fixed
        elapse(INTERVAL);
        assertThat(context.get()).isNotSameAs(first);
        assertThat(context.current().leaf()).isEqualTo(b.leaf());
        assertThat(errors()).hasSize(1);
    }

    @Test void aPairReplacedOneFileAtATimeIsNotAnError() throws Exception {
        KeyMaterial a = certificate("a.example");
        KeyMaterial b = certificate("b.example");
        Pem.write(a, cert, key);
        ReloadingServerContext context = load();
        Path stagedCert = dir.resolve("staged.crt");
        Path stagedKey = dir.resolve("staged.key");
        Pem.write(b, stagedCert, stagedKey);

        Files.move(stagedCert, cert, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        elapse(INTERVAL);
        context.get(); // sees the new certificate with the old key
        assertThat(context.current().leaf()).isEqualTo(a.leaf());
        Files.move(stagedKey, key, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        elapse(INTERVAL);
        context.get();

        assertThat(context.current().leaf()).isEqualTo(b.leaf());
        assertThat(errors()).isEmpty();
    }

    @Test void missingOrGarbledFilesNeverThrowFromGet() throws Exception {
        KeyMaterial a = certificate("a.example");
        Pem.write(a, cert, key);
        ReloadingServerContext context = load();
        SSLContext first = context.get();

        Files.delete(key);
        Files.writeString(cert, "-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----\n");
        for (int i = 0; i < 3; i++) {
            elapse(INTERVAL);
            assertThat(context.get()).isSameAs(first);
        }
        Files.delete(cert);
        elapse(INTERVAL);
        assertThat(context.get()).isSameAs(first);

        assertThat(context.current().leaf()).isEqualTo(a.leaf());
        assertThat(errors()).isNotEmpty().allSatisfy(e -> assertThat(e).contains("still serving CN=a.example"));
    }

    @Test void loadReportsUnusableFilesNamingThem() throws Exception {
        KeyMaterial a = certificate("a.example");
        KeyMaterial b = certificate("b.example");
        Pem.write(new KeyMaterial(a.key(), b.chain()), cert, key);

        assertThatThrownBy(this::load).isInstanceOf(TlsConfigException.class)
                .hasMessage("key does not match certificate " + cert);
        assertThatThrownBy(() -> ReloadingServerContext.load(dir.resolve("none.pem"), key))
                .isInstanceOf(TlsConfigException.class).hasMessageContaining("none.pem");
    }

    @Test void certificateAndKeyInOneFile() throws Exception {
        Path both = dir.resolve("both.pem");
        Pem.write(certificate("a.example"), both, both);
        ReloadingServerContext context = ReloadingServerContext.load(both, both, INTERVAL, clock::get);
        KeyMaterial b = certificate("b.example");
        Pem.write(b, both, both);
        elapse(INTERVAL);

        assertThat(served(context.get())).isEqualTo(b.leaf());
    }

    // ---- several pairs served together ----

    record Files2(Path rsaCert, Path rsaKey, Path ecCert, Path ecKey) {
        List<ReloadingServerContext.Pair> pairs() {
            return List.of(new ReloadingServerContext.Pair(rsaCert, rsaKey), new ReloadingServerContext.Pair(ecCert,
                    ecKey));
        }
    }

    Files2 twoPairs(KeyMaterial rsa, KeyMaterial ec) throws Exception {
        Files2 f = new Files2(dir.resolve("rsa.crt"), dir.resolve("rsa.key"), dir.resolve("ec.crt"),
                dir.resolve("ec.key"));
        Pem.write(rsa, f.rsaCert(), f.rsaKey());
        Pem.write(ec, f.ecCert(), f.ecKey());
        return f;
    }

    static KeyMaterial rsaCertificate(String host) {
        return Certificates.selfSigned(List.of(host), KeyType.RSA_2048, Duration.ofDays(30));
    }

    @Test void ofTwoPairsOnlyTheChangedOneIsReloadedAndEachClientGetsItsKind() throws Exception {
        KeyMaterial rsa = rsaCertificate("rsa.example");
        KeyMaterial ec = certificate("ec.example");
        Files2 f = twoPairs(rsa, ec);
        ReloadingServerContext context = ReloadingServerContext.load(f.pairs(), INTERVAL, clock::get);
        assertThat(context.currentAll()).containsExactly(rsa, ec);
        assertThat(ClientShape.rsaOnly("TLSv1.3").served(context.get())).isEqualTo(rsa.leaf());
        assertThat(ClientShape.ecdsaOnly("TLSv1.3").served(context.get())).isEqualTo(ec.leaf());

        KeyMaterial rsa2 = rsaCertificate("rsa2.example");
        Pem.write(rsa2, f.rsaCert(), f.rsaKey());
        elapse(INTERVAL);
        SSLContext reloaded = context.get();

        assertThat(context.currentAll()).containsExactly(rsa2, ec);
        assertThat(ClientShape.rsaOnly("TLSv1.3").served(reloaded)).isEqualTo(rsa2.leaf());
        assertThat(ClientShape.ecdsaOnly("TLSv1.3").served(reloaded)).isEqualTo(ec.leaf());
        assertThat(ClientShape.rsaOnly("TLSv1.2").served(reloaded)).isEqualTo(rsa2.leaf());
        List<String> reloads = logged.list.stream().map(ILoggingEvent::getFormattedMessage)
                .filter(m -> m.startsWith("reloaded")).toList();
        assertThat(reloads).singleElement().asString().contains(f.rsaCert().toString()).contains("CN=rsa2.example");
        assertThat(errors()).isEmpty();
    }

    @Test void aBrokenPairKeepsTheWholeOldSetWithOneErrorLineUntilFixed() throws Exception {
        KeyMaterial rsa = rsaCertificate("rsa.example");
        KeyMaterial ec = certificate("ec.example");
        Files2 f = twoPairs(rsa, ec);
        ReloadingServerContext context = ReloadingServerContext.load(f.pairs(), INTERVAL, clock::get);
        SSLContext first = context.get();

        KeyMaterial rsa2 = rsaCertificate("rsa2.example");
        KeyMaterial ec2 = certificate("ec2.example");
        Pem.write(rsa2, f.rsaCert(), f.rsaKey()); // fine
        Pem.write(new KeyMaterial(ec.key(), ec2.chain()), f.ecCert(), f.ecKey()); // certificate EC2 with EC's key
        for (int i = 0; i < 5; i++) {
            elapse(INTERVAL);
            assertThat(context.get()).isSameAs(first);
        }

        assertThat(context.currentAll()).as("the old set as a whole").containsExactly(rsa, ec);
        assertThat(ClientShape.rsaOnly("TLSv1.3").served(context.get())).isEqualTo(rsa.leaf());
        assertThat(errors()).singleElement().asString()
                .contains("key does not match certificate " + f.ecCert())
                .contains("still serving CN=rsa.example").contains("CN=ec.example");

        Pem.write(ec2, f.ecCert(), f.ecKey()); // fixed
        elapse(INTERVAL);
        assertThat(context.get()).isNotSameAs(first);
        assertThat(context.currentAll()).containsExactly(rsa2, ec2);
        assertThat(ClientShape.ecdsaOnly("TLSv1.2").served(context.get())).isEqualTo(ec2.leaf());
        assertThat(errors()).hasSize(1);
    }

    @Test void loadingSeveralPairsNamesTheOneThatCannotBeUsed() throws Exception {
        KeyMaterial rsa = rsaCertificate("rsa.example");
        KeyMaterial ec = certificate("ec.example");
        Files2 f = twoPairs(rsa, ec);
        Pem.write(new KeyMaterial(rsa.key(), ec.chain()), f.ecCert(), f.ecKey());

        assertThatThrownBy(() -> ReloadingServerContext.load(f.pairs(), INTERVAL, clock::get))
                .isInstanceOf(TlsConfigException.class).hasMessage("key does not match certificate " + f.ecCert());
    }

    /** The leaf certificate a client sees in a real handshake with a server using {@code context}. */
    static X509Certificate served(SSLContext context) throws Exception {
        try (ServerSocket listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            CompletableFuture<Void> server = CompletableFuture.runAsync(() -> {
                try (Socket plain = listener.accept(); SSLSocket tls = TlsContexts.wrapServer(context, plain)) {
                    tls.setSoTimeout(10_000);
                    tls.startHandshake();
                    tls.getInputStream().read();
                } catch (Exception e) {
                    // the client reports what matters
                }
            });
            try (Socket plain = new Socket(listener.getInetAddress(), listener.getLocalPort());
                 SSLSocket tls = TlsContexts.wrapClient(TlsContexts.opportunisticClient(), plain, "localhost",
                         listener.getLocalPort())) {
                tls.setSoTimeout(10_000);
                tls.startHandshake();
                X509Certificate leaf = (X509Certificate) tls.getSession().getPeerCertificates()[0];
                tls.getOutputStream().write('x');
                tls.getOutputStream().flush();
                return leaf;
            } finally {
                server.get(10, TimeUnit.SECONDS);
            }
        }
    }
}
