package dev.postern.inbound;

import dev.postern.config.Config;
import dev.postern.names.Domains;
import dev.postern.recipients.LocalParts;
import dev.postern.recipients.RecipientList;
import dev.postern.recipients.Verdict;
import dev.postern.recipients.Verifier;
import dev.postern.smtp.Mailbox;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * Recipient validation per domain, as configured in {@code [recipients."domain"]}: a domain with a recipients file
 * accepts only the local parts listed there; a relay domain with {@code verify = true} accepts only what its next hop
 * accepts. A domain with neither accepts every local part (catch-all is the default, and an explicit choice). Domains
 * are compared in A-label form. Thread-safe.
 */
public final class RecipientPolicy {
    private record Domain(RecipientList.Watcher list, boolean verify) {}

    /** Every domain catch-all. */
    public static final RecipientPolicy CATCH_ALL = new RecipientPolicy(Map.of(), null);

    private final Map<String, Domain> domains;
    private final Verifier verifier;

    private RecipientPolicy(Map<String, Domain> domains, Verifier verifier) {
        this.domains = Map.copyOf(domains);
        this.verifier = verifier;
    }

    /**
     * The policy of {@code config}, reading every recipients file now.
     *
     * @param verifier asks next hops (through a {@link dev.postern.recipients.VerificationCache}); null: verification is not available, and
     *                 a domain configured for it answers {@link Verdict.Unverified}
     * @throws IOException when a recipients file cannot be read or has a bad line (one line naming file and line)
     */
    public static RecipientPolicy of(Map<String, Config.DomainRecipients> config, Verifier verifier)
            throws IOException {
        Map<String, Domain> domains = new HashMap<>();
        Map<Path, RecipientList.Watcher> watchers = new HashMap<>(); // a file shared by domains is watched once
        for (Map.Entry<String, Config.DomainRecipients> e : config.entrySet()) {
            String ascii = Domains.toAsciiOrNull(e.getKey());
            if (ascii == null) throw new IOException("[recipients]: not a domain: " + e.getKey());
            Path file = e.getValue().file();
            RecipientList.Watcher list = file == null ? null : watchers.get(file);
            if (file != null && list == null) {
                list = new RecipientList.Watcher(file);
                watchers.put(file, list);
            }
            domains.put(ascii, new Domain(list, e.getValue().verify()));
        }
        return new RecipientPolicy(domains, verifier);
    }

    /** Whether {@code recipient} may be accepted; blocks while the next hop is asked. */
    public Verdict check(Mailbox recipient) {
        if (domains.isEmpty()) return Verdict.ACCEPTED;
        String ascii = Domains.toAsciiOrNull(recipient.domain());
        Domain d = ascii == null ? null : domains.get(ascii);
        if (d == null) return Verdict.ACCEPTED;
        // RFC 5321 §4.5.1: postmaster must be accepted in every domain mail is taken for, listed or not.
        boolean postmaster = LocalParts.key(recipient.localPart()).equals("postmaster");
        if (d.list() != null && !postmaster && !d.list().current().contains(recipient.localPart(), ascii)) {
            return Verdict.UNKNOWN;
        }
        if (!d.verify()) return Verdict.ACCEPTED;
        if (verifier == null) return new Verdict.Unverified("recipient verification is not available");
        return verifier.verify(recipient.localPart() + "@" + ascii, ascii);
    }
}
