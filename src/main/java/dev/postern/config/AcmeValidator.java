package dev.postern.config;

import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;

/** Validates {@code [acme]}: the gateway's certificates from an ACME server (docs/certificates.md). */
final class AcmeValidator {
    private static final String DIRECTORY = "an https:// URL of an ACME directory like "
            + Config.Acme.LETS_ENCRYPT;
    private static final String CHALLENGES = "\"http-01\" or \"tls-alpn-01\"";
    private static final String KEY_TYPES = "\"ecdsa\", \"rsa\" or \"both\"";
    private static final String ADDRESS = "host:port like 0.0.0.0:80";

    private final Function<String, Path> caFile;

    /** @param caFile checks a CA file key and resolves it against the config's directory */
    AcmeValidator(Function<String, Path> caFile) {
        this.caFile = caFile;
    }

    /** {@code tls} with the {@code [acme]} table; an enabled one beside configured certificate files is a problem. */
    Config.Tls acme(Table t, Config.Tls tls) {
        Config.Acme d = Config.Acme.OFF;
        boolean enabled = t.bool("enabled", d.enabled());
        URI directory = t.string("directory", d.directory(), DIRECTORY, AcmeValidator::directory);
        String contact = t.string("contact", d.contact(), "a mail address like postmaster@example.com",
                s -> "mailto:" + WatchValidator.address(s.startsWith("mailto:") ? s.substring(7) : s));
        List<String> names = t.list("names", d.names(), "an array of names like [\"mx.example.com\"]",
                "a domain like mx.example.com", Syntax::domain);
        Config.AcmeChallenge challenge = t.string("challenge", d.challenge(), CHALLENGES,
                s -> parse(Config.AcmeChallenge.values(), Config.AcmeChallenge::configName, s, CHALLENGES));
        InetSocketAddress http = t.string("http_address", d.httpAddress(), ADDRESS, Config.Listener::parseAddress);
        InetSocketAddress tlsAddress = t.string("tls_address", d.tlsAddress(), "host:port like 0.0.0.0:443",
                Config.Listener::parseAddress);
        Config.AcmeKeyType keyType = t.string("key_type", d.keyType(), KEY_TYPES,
                s -> parse(Config.AcmeKeyType.values(), Config.AcmeKeyType::configName, s, KEY_TYPES));
        Path trust = t.string("trust", d.trust(), "a PEM file of CA certificates", caFile);
        Duration renewBefore = t.duration("renew_before", d.renewBefore(), Duration.ofMinutes(1),
                Duration.ofDays(365));
        Duration retryFirst = t.duration("retry_first", d.retryFirst(), Duration.ofSeconds(1), Duration.ofDays(1));
        Duration retryMax = t.duration("retry_max", d.retryMax(), Duration.ofSeconds(1), Duration.ofDays(7));
        if (retryMax.compareTo(retryFirst) < 0) {
            t.problem("retry_max", "expected at least retry_first (" + Durations.format(retryFirst) + "), got "
                    + Durations.format(retryMax));
        }
        if (enabled && !tls.generated()) {
            t.problem("enabled", "expected no [tls] certificate files when ACME obtains the certificates (remove "
                    + "[tls] certificate/key or [[tls.certificates]]), got enabled = true beside them");
        }
        t.finish();
        return tls.withAcme(new Config.Acme(enabled, directory, contact, names, challenge, http, tlsAddress, keyType,
                trust, renewBefore, retryFirst, retryMax));
    }

    private static URI directory(String s) {
        return WatchValidator.url(s, java.util.Set.of("https"), DIRECTORY);
    }

    private static <E> E parse(E[] values, Function<E, String> name, String s, String expected) {
        for (E e : values) if (name.apply(e).equals(s.toLowerCase(Locale.ROOT))) return e;
        throw Syntax.invalid(expected, s);
    }
}
