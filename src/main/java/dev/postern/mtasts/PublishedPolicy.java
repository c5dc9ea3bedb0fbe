package dev.postern.mtasts;

import dev.postern.tls.PeerCheck;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The MTA-STS policy Postern publishes for the domains it serves (RFC 8461 §3.2) and the TXT record that announces it
 * (§3.1). {@code postern mta-sts policy} prints both; {@link PolicyPublisher} serves {@link #body()} at
 * {@code https://mta-sts.DOMAIN/.well-known/mta-sts.txt} with Content-Type text/plain.
 *
 * @param mx     host names or "*.domain" patterns, lookup form
 * @param maxAge seconds, 0 to 31557600
 */
public record PublishedPolicy(Policy.Mode mode, List<String> mx, long maxAge) {
    public PublishedPolicy {
        mx = List.copyOf(mx);
        if (maxAge < 0 || maxAge > Policy.MAX_AGE_LIMIT) throw new IllegalArgumentException("max_age out of range");
        if (mx.isEmpty() && mode != Policy.Mode.NONE) throw new IllegalArgumentException("no mx");
    }

    /** The policy file, CRLF line endings as RFC 8461 §3.2 writes them. */
    public String body() {
        StringBuilder b = new StringBuilder("version: STSv1\r\nmode: ").append(mode.word()).append("\r\n");
        for (String m : mx) b.append("mx: ").append(m).append("\r\n");
        return b.append("max_age: ").append(maxAge).append("\r\n").toString();
    }

    /** 32 hex digits of the body's SHA-256: a new policy gets a new id, the same policy keeps it. */
    public String id() {
        return PeerCheck.sha256(body().getBytes(StandardCharsets.UTF_8)).substring(0, 32);
    }

    /** The TXT record for {@code domain} in zone-file form. */
    public String txtRecord(String domain) {
        return "_mta-sts." + domain + ". IN TXT \"v=STSv1; id=" + id() + "\"";
    }
}
