package dev.postern.acme;

import dev.postern.config.Config;
import dev.postern.tls.Certificates;
import dev.postern.tls.KeyMaterial;
import dev.postern.tls.TlsConfigException;
import dev.postern.tls.TlsContexts;
import java.io.IOException;
import java.net.http.HttpClient;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Supplier;
import javax.net.ssl.SSLContext;
import org.shredzone.acme4j.Account;
import org.shredzone.acme4j.AccountBuilder;
import org.shredzone.acme4j.Authorization;
import org.shredzone.acme4j.Certificate;
import org.shredzone.acme4j.challenge.Challenge;
import org.shredzone.acme4j.Login;
import org.shredzone.acme4j.Order;
import org.shredzone.acme4j.RevocationReason;
import org.shredzone.acme4j.Session;
import org.shredzone.acme4j.Status;
import org.shredzone.acme4j.challenge.Http01Challenge;
import org.shredzone.acme4j.challenge.TlsAlpn01Challenge;
import org.shredzone.acme4j.connector.NetworkSettings;
import org.shredzone.acme4j.exception.AcmeException;
import org.shredzone.acme4j.provider.GenericAcmeProvider;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One conversation with the ACME server through acme4j: the account (made or found from the account key), an order
 * for the names, each authorization through the configured challenge on a listener of its own that is up only for
 * the order, a fresh key and its CSR, the certificate chain; and revocation.
 */
final class AcmeIssuer {
    private static final Logger log = LoggerFactory.getLogger(AcmeIssuer.class);
    /** How long one challenge or the order's finalization may take before the attempt counts as failed. */
    static final Duration WAIT = Duration.ofSeconds(60);

    /** Why an attempt failed, in one line (the ACME server's problem detail, clipped). */
    static final class Failure extends Exception {
        Failure(String message, Throwable cause) { super(message, cause); }
    }

    private final Config.Acme settings;
    private final AcmeFiles files;

    AcmeIssuer(Config.Acme settings, AcmeFiles files) {
        this.settings = settings;
        this.files = files;
    }

    /** A certificate for {@code names} (the first is the subject) with a new key of {@code type}. */
    KeyMaterial issue(List<String> names, Certificates.KeyType type) throws Failure, InterruptedException {
        try {
            Login login = login();
            Order order = login.getAccount().newOrder().domains(names).create();
            // an authorization the server reuses is valid already: nothing to prove
            List<Authorization> pending = order.getAuthorizations().stream()
                    .filter(a -> a.getStatus() != Status.VALID).toList();
            if (!pending.isEmpty()) authorize(pending);
            KeyPair key = Certificates.generateKeyPair(type);
            order.execute(key);
            Status status = poll(order::getStatus, order::fetch);
            if (status != Status.VALID) {
                throw new Failure("order " + status.name().toLowerCase(Locale.ROOT)
                        + order.getError().map(p -> ": " + clip(p.toString())).orElse(""), null);
            }
            List<X509Certificate> chain = order.getCertificate().getCertificateChain();
            return new KeyMaterial(key.getPrivate(), chain);
        } catch (AcmeException | IOException e) {
            throw new Failure(clip(e.getMessage()), e);
        }
    }

    /**
     * Proves every name of the order at once: the challenge listener up for the time it takes, each challenge's
     * answer put there, all triggered, then each awaited.
     */
    private void authorize(List<Authorization> pending) throws Failure, AcmeException, InterruptedException,
            IOException {
        boolean http = settings.challenge() == Config.AcmeChallenge.HTTP_01;
        try (Http01Server httpServer = http ? Http01Server.start(settings.httpAddress()) : null;
             TlsAlpn01Server tlsServer = http ? null : TlsAlpn01Server.start(settings.tlsAddress())) {
            String how = http ? "http-01 on " + httpServer.address() : "tls-alpn-01 on " + tlsServer.address();
            List<Challenge> challenges = new ArrayList<>();
            for (Authorization auth : pending) {
                String name = auth.getIdentifier().getDomain();
                if (http) {
                    Http01Challenge c = auth.findChallenge(Http01Challenge.class).orElseThrow(() ->
                            new Failure(name + ": the ACME server offers no http-01 challenge", null));
                    httpServer.put(c.getToken(), c.getAuthorization());
                    challenges.add(c);
                } else {
                    TlsAlpn01Challenge c = auth.findChallenge(TlsAlpn01Challenge.class).orElseThrow(() ->
                            new Failure(name + ": the ACME server offers no tls-alpn-01 challenge", null));
                    // RSA: acme4j 4.0 signs the validation certificate with SHA256withRSA whatever the key
                    KeyPair pair = Certificates.generateKeyPair(Certificates.KeyType.RSA_2048);
                    tlsServer.put(name, new TlsAlpn01Server.Validation(pair.getPrivate(),
                            c.createCertificate(pair, auth.getIdentifier())));
                    challenges.add(c);
                }
                log.atInfo().addKeyValue("name", name).addKeyValue("challenge", how).log("acme: proving a name");
            }
            for (Challenge c : challenges) c.trigger();
            for (int i = 0; i < challenges.size(); i++) {
                Challenge c = challenges.get(i);
                Status s = poll(c::getStatus, c::fetch);
                if (s != Status.VALID) {
                    throw new Failure(pending.get(i).getIdentifier().getDomain() + ": " + how + " challenge "
                            + s.name().toLowerCase(Locale.ROOT) + c.getError().map(p -> ": "
                            + clip(p.getDetail().orElse(p.toString()))).orElse(""), null);
                }
            }
        }
    }

    /** A fetch that may say when to ask again (the server's Retry-After). */
    private interface Fetch {
        Optional<Instant> fetch() throws AcmeException;
    }

    /**
     * Polls until the resource is final (valid or invalid) or {@link #WAIT} has passed: after 200 ms, then twice as
     * long each time up to 3 s, or later when the server's Retry-After says so (a fast server is answered at once, a
     * slow one is not asked more than once in 3 s).
     */
    private static Status poll(Supplier<Status> status, Fetch fetch) throws AcmeException, InterruptedException {
        long end = System.nanoTime() + WAIT.toNanos();
        long pause = 200;
        while (true) {
            Status s = status.get();
            if (s == Status.VALID || s == Status.INVALID || System.nanoTime() - end > 0) return s;
            Optional<Instant> retryAfter = fetch.fetch();
            s = status.get();
            if (s == Status.VALID || s == Status.INVALID) return s;
            long wait = retryAfter.map(t -> Duration.between(Instant.now(), t).toMillis()).orElse(0L);
            Thread.sleep(Math.min(Math.max(wait, pause), WAIT.toMillis()));
            pause = Math.min(pause * 2, 3000);
        }
    }

    /** Revokes {@code leaf} (one this account was issued). */
    void revoke(X509Certificate leaf) throws Failure {
        try {
            Certificate.revoke(login(), leaf, RevocationReason.UNSPECIFIED);
        } catch (AcmeException | IOException e) {
            throw new Failure(clip(e.getMessage()), e);
        }
    }

    private Login login() throws AcmeException, IOException {
        Session session = new Session(settings.directory(), new Provider(trust(settings.trust())));
        AccountBuilder b = new AccountBuilder().agreeToTermsOfService().useKeyPair(files.accountKey());
        if (settings.contact() != null) b.addContact(settings.contact());
        // newAccount with a key the server knows returns that account: no account URL to keep
        Account account = b.create(session);
        return session.login(account.getLocation(), files.accountKey());
    }

    /** The system's CAs and {@code [acme] trust}'s (pebble's test CA) for the ACME server's HTTPS. */
    private static SSLContext trust(Path file) throws IOException {
        try {
            return file == null ? null : TlsContexts.verifying(file);
        } catch (TlsConfigException e) {
            throw new IOException("[acme] trust: " + e.getMessage(), e);
        }
    }

    /** Any ACME server by its directory URL; the HTTP client with our trust when one is configured. */
    private static final class Provider extends GenericAcmeProvider {
        private final SSLContext trust;

        Provider(SSLContext trust) { this.trust = trust; }

        @Override public HttpClient createHttpClient(NetworkSettings settings) {
            HttpClient.Builder b = HttpClient.newBuilder().connectTimeout(settings.getTimeout())
                    .followRedirects(HttpClient.Redirect.NORMAL);
            if (trust != null) b.sslContext(trust);
            return b.build();
        }
    }

    private static String clip(String s) {
        return dev.postern.logging.Untrusted.clip(s == null ? "(no detail)" : s);
    }

}
