package dev.postern.metrics;

import dev.postern.audit.CertificateSummary;
import dev.postern.audit.SeenCertificate;
import dev.postern.audit.TlsSessionRecord;
import dev.postern.logging.Untrusted;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The partners' certificates seen on the wire (the leaf of each peer chain, both directions), for the expiry gauge:
 * one entry per endpoint and subject (a renewed certificate replaces the one it renews), at most {@link #MAX} of
 * them, the least recently seen going first; a certificate that was verified or seen under an enforcing policy (a
 * partner link that breaks when it expires) is only pushed out by another such one. Filled from the store's
 * certificates seen lately (at the first scrape), so a restart does not forget them.
 */
final class PartnerCertificates {
    static final int MAX = 512;

    /**
     * One certificate at one endpoint.
     *
     * @param important verified, or seen in a session under an enforcing policy
     */
    record Seen(String sha256, String subject, String endpoint, Instant notAfter, boolean important) {}

    private record Key(String endpoint, String subject) {}

    /** Least recently seen first. */
    private final LinkedHashMap<Key, Seen> seen = new LinkedHashMap<>(64, 0.75f, true);

    /** A session with a peer chain went by. */
    void seen(TlsSessionRecord s) {
        CertificateSummary leaf = s.peerChain().getFirst();
        if (leaf.sha256() == null || leaf.notAfter() == null) return;
        boolean important = s.verification() == TlsSessionRecord.Verification.VERIFIED
                || s.policy() != null && s.policy().enforcing();
        Key key = new Key(s.endpoint(), leaf.subject());
        synchronized (seen) {
            Seen had = seen.get(key); // moves it to the most recent end
            if (had == null || !had.sha256().equals(leaf.sha256()) || important && !had.important()) {
                seen.put(key, new Seen(leaf.sha256(), Untrusted.clip(leaf.subject()), Untrusted.clip(s.endpoint()),
                        leaf.notAfter(), important || had != null && had.important()));
                trim();
            }
        }
    }

    /**
     * The store's certificates seen since {@code since}, oldest sighting first so the newest are kept; each peer
     * (endpoint) is one entry. Entries seen on the wire already are left as they are.
     */
    void load(List<SeenCertificate> fromStore, Instant since) {
        record Row(SeenCertificate c, SeenCertificate.Peer p) {}
        List<Row> rows = new ArrayList<>();
        for (SeenCertificate c : fromStore) {
            for (SeenCertificate.Peer p : c.peers()) {
                if (c.notAfter() != null && p.lastSeen() != null && !p.lastSeen().isBefore(since)) {
                    rows.add(new Row(c, p));
                }
            }
        }
        rows.sort(Comparator.comparing((Row r) -> r.p.lastSeen()));
        synchronized (seen) {
            // the store's are older than anything seen since the start: they go in at the least recent end
            LinkedHashMap<Key, Seen> live = new LinkedHashMap<>(seen);
            seen.clear();
            for (Row r : rows) {
                seen.put(new Key(r.p.endpoint(), r.c.subject()), new Seen(r.c.sha256(), Untrusted.clip(r.c.subject()),
                        Untrusted.clip(r.p.endpoint()), r.c.notAfter(), false));
            }
            seen.putAll(live);
            while (seen.size() > MAX) trim();
        }
    }

    /** What is known now, for a scrape. */
    List<Seen> snapshot() {
        synchronized (seen) {
            return List.copyOf(seen.values());
        }
    }

    /** Drops one entry when over {@link #MAX}: the least recently seen unimportant one, else the least recent. */
    private void trim() {
        if (seen.size() <= MAX) return;
        Iterator<Map.Entry<Key, Seen>> it = seen.entrySet().iterator();
        while (it.hasNext()) {
            if (!it.next().getValue().important()) {
                it.remove();
                return;
            }
        }
        it = seen.entrySet().iterator();
        it.next();
        it.remove();
    }
}
