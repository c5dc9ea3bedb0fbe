package dev.postern.alerts;

import dev.postern.audit.AdminRecord;
import dev.postern.audit.AlertRecord;
import dev.postern.audit.AlertRecord.Kind;
import dev.postern.audit.AlertRecord.State;
import dev.postern.audit.AuditRecord;
import dev.postern.audit.CertificateSummary;
import dev.postern.audit.DeliveryRecord;
import dev.postern.audit.MessageRecord;
import dev.postern.audit.ProbeRecord;
import dev.postern.audit.SeenCertificate;
import dev.postern.audit.TlsSessionRecord;
import dev.postern.audit.TlsSessionRecord.Direction;
import dev.postern.config.Durations;
import dev.postern.peers.Downgrade;
import dev.postern.peers.Level;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The conditions: what each record, queue figure and certificate means for the alerts, and the alerts that are
 * firing. Each method returns the state changes it made (a FIRING or RECOVERED record), already de-duplicated: a key
 * that fires while firing, or recovers while not firing, changes nothing. Not thread-safe: one thread evaluates.
 */
final class Conditions {
    /** What the conditions are measured against ({@code [alerts]}). */
    record Limits(Duration certificateWarning, int queueSize, Duration queueAge) { }

    /** Policy levels that require TLS (Config.TlsLevel.requiresTls, as the session record words them). */
    private static final Set<String> REQUIRING = Set.of("encrypt", "fingerprint", "verify", "secure", "dane-only");
    /** How many recent sessions (and inbound messages) are remembered to join a delivery with its session. */
    static final int RECENT = 4096;

    private final Map<String, Firing> firing;
    private volatile Limits limits;
    /** Outbound sessions by id: under which policy each ran (a delivery record names its session). */
    private final Map<String, TlsSessionRecord.PolicyApplied> sessions = bounded();
    /** Inbound sessions by id: the sender domains of the messages they carried (the session record comes last). */
    private final Map<String, Set<String>> senders = bounded();
    /** Queue ids of the alert mails: their own deliveries are never evaluated (no alert about an alert). */
    private final Map<String, Boolean> ownMail = bounded();
    private boolean dirty;

    Conditions(Map<String, Firing> firing, Limits limits) {
        this.firing = new LinkedHashMap<>(firing);
        this.limits = limits;
    }

    void limits(Limits l) { this.limits = l; }

    Limits limits() { return limits; }

    /** The firing alerts, in the order they fired. */
    Map<String, Firing> firing() { return firing; }

    /** Whether something the state file keeps changed since the last {@link #saved()}. */
    boolean dirty() { return dirty; }

    void saved() { dirty = false; }

    /** The queue id of a mail this gateway sent as an alert. */
    void ownMail(String queueId) { ownMail.put(queueId, Boolean.TRUE); }

    // ---- records

    List<AlertRecord> record(AuditRecord r) {
        List<AlertRecord> out = new ArrayList<>();
        switch (r) {
            case TlsSessionRecord s -> session(s, out);
            case DeliveryRecord d -> delivery(d, out);
            case ProbeRecord p -> probe(p, out);
            case MessageRecord m -> {
                if (m.sessionId() != null && m.sender() != null) {
                    int at = m.sender().lastIndexOf('@');
                    if (at > 0) senders.computeIfAbsent(m.sessionId(), k -> new LinkedHashSet<>())
                            .add(m.sender().substring(at + 1).toLowerCase(java.util.Locale.ROOT));
                }
            }
            case AdminRecord a -> {
                if (a.action() == AdminRecord.Action.PEER_LEVEL_FORGOTTEN && a.target() != null) {
                    // the administrator cleared the memory: nothing is remembered to fall below any more
                    for (String dir : List.of("out", "in")) {
                        recover("downgrade:" + dir + ":" + a.target(), a.target() + ": the level remembered "
                                + dir + "bound was forgotten by " + a.actor(), a.at(), out);
                    }
                }
            }
            default -> { } // alerts (ours), TLS reports: nothing to judge
        }
        return out;
    }

    private void session(TlsSessionRecord s, List<AlertRecord> out) {
        TlsSessionRecord.PolicyApplied policy = s.policy();
        if (s.direction() == Direction.OUT && policy != null) sessions.put(s.id(), policy);
        downgrade(s, out);
        partnerCertificate(s, out);
        if (s.direction() == Direction.IN) senders.remove(s.id());
    }

    /**
     * DOWNGRADE: a session held to the downgrade memory (policy source "memory") whose record names a downgrade
     * (refused or flagged: {@link Downgrade#find}); outbound recovered by a session under the memory that passed,
     * inbound by a session carrying mail from the domain at its remembered level.
     */
    private void downgrade(TlsSessionRecord s, List<AlertRecord> out) {
        TlsSessionRecord.PolicyApplied policy = s.policy();
        String dir = s.direction() == Direction.OUT ? "out" : "in";
        if (policy != null && "memory".equals(policy.source())) {
            Downgrade d = null;
            for (String text : texts(s)) {
                d = Downgrade.find(text);
                if (d != null) break;
            }
            if (d != null) {
                boolean refused = "enforce".equals(policy.mode());
                String where = s.direction() == Direction.OUT ? "next hop " + s.endpoint() + " [" + s.peerIp() + "]"
                        : "client " + s.peerIp() + (s.ehloName() == null ? "" : " (" + s.ehloName() + ")");
                fire(Kind.DOWNGRADE, "downgrade:" + dir + ":" + d.domain(), d.domain(),
                        d.domain() + ": " + dir + "bound session below the remembered level " + d.level().word()
                                + " (" + (refused ? "refused" : "flagged, mail went") + ")",
                        where + ": " + firstDowngrade(s), s.at(), null, null, d.level().word(), out);
                return;
            }
            if (s.direction() == Direction.OUT && s.noTls() == null) {
                String domain = memoryDomain(policy.sourceDetail());
                if (domain != null) {
                    recover("downgrade:out:" + domain, domain + ": seen at its remembered level again ("
                            + s.endpoint() + ")", s.at(), out);
                }
            }
            return;
        }
        if (s.direction() == Direction.IN) {
            Set<String> domains = senders.get(s.id());
            if (domains == null) return;
            Level reached = !s.encrypted() ? Level.PLAIN
                    : "verified".equals(s.clientCertificate()) ? Level.VERIFIED : Level.ENCRYPTED;
            for (String domain : domains) {
                Firing f = firing.get("downgrade:in:" + domain);
                Level remembered = f == null ? null : Level.parse(f.level());
                if (remembered != null && !remembered.above(reached)) {
                    recover("downgrade:in:" + domain, domain + ": mail from it came at its remembered level again ("
                            + remembered.word() + ")", s.at(), out);
                }
            }
        }
    }

    /** Where a session record carries a downgrade's words. */
    private static List<String> texts(TlsSessionRecord s) {
        List<String> t = new ArrayList<>(s.policy().wouldFail());
        t.add(s.noTlsDetail());
        t.add(s.verificationReason());
        t.add(s.policy().sourceDetail()); // inbound: the memory's mark is the source detail
        return t;
    }

    private static String firstDowngrade(TlsSessionRecord s) {
        for (String text : texts(s)) {
            if (text == null) continue;
            int i = text.indexOf("downgrade: ");
            if (i >= 0) return text.substring(i);
        }
        return "";
    }

    /** The domain of an outbound "peer memory: D seen at L since T" source detail, or null. */
    static String memoryDomain(String sourceDetail) {
        String p = "peer memory: ";
        if (sourceDetail == null || !sourceDetail.startsWith(p)) return null;
        int end = sourceDetail.indexOf(" seen at ", p.length());
        return end < 0 ? null : sourceDetail.substring(p.length(), end);
    }

    /**
     * PARTNER_CERTIFICATE_EXPIRY: the peer's leaf ends within the warning period. The same endpoint showing another
     * certificate that ends later recovers the old one's alert.
     */
    private void partnerCertificate(TlsSessionRecord s, List<AlertRecord> out) {
        if (s.peerChain().isEmpty()) return;
        // inbound, only a client certificate that verified is a partner's: any client may show a self-made one
        // ending tomorrow, a new one per connection, and each would be an alert (mail, webhook, a key kept)
        if (s.direction() == Direction.IN && !"verified".equals(s.clientCertificate())) return;
        CertificateSummary leaf = s.peerChain().getFirst();
        if (leaf.notAfter() == null || leaf.sha256() == null) return;
        String endpoint = s.direction() == Direction.OUT ? "out " + s.endpoint() : "in " + s.peerIp();
        String key = "partner-certificate:" + leaf.sha256();
        for (Map.Entry<String, Firing> e : List.copyOf(firing.entrySet())) {
            Firing f = e.getValue();
            if (f.record().kind() == Kind.PARTNER_CERTIFICATE_EXPIRY && !e.getKey().equals(key)
                    && f.endpoints().contains(endpoint) && f.notAfter() != null
                    && leaf.notAfter().isAfter(f.notAfter())) {
                recover(e.getKey(), f.record().subject() + ": " + endpoint + " now shows another certificate, "
                        + "valid until " + leaf.notAfter() + " (sha256 " + leaf.sha256() + ")", s.at(), out);
            }
        }
        if (leaf.notAfter().isBefore(s.at().plus(limits.certificateWarning()))) {
            Firing f = firing.get(key);
            if (f != null) {
                firing.put(key, f.seen(s.at(), endpoint));
                dirty = true;
                return;
            }
            fire(Kind.PARTNER_CERTIFICATE_EXPIRY, key, leaf.subject(), expiry("partner certificate "
                            + leaf.subject(), leaf.notAfter(), s.at()),
                    "seen " + endpoint + " [" + s.peerIp() + "]; sha256 " + leaf.sha256() + "; issuer "
                            + leaf.issuer() + "; names " + String.join(", ", leaf.sans()),
                    s.at(), leaf.notAfter(), endpoint, null, out);
        }
    }

    /** Where a certificate was seen, as the alerts name it: "out HOST:PORT" (the next hop), "in IP" (a client). */
    private static String endpoint(SeenCertificate.Peer p) {
        return p.direction() == Direction.OUT ? "out " + p.endpoint() : "in " + p.peerIp();
    }

    /**
     * At start: the store's certificates seen lately (within the warning period) that end within it and are still
     * the latest one seen at one of their endpoints at least (a renewed one is not raised again).
     */
    List<AlertRecord> certificatesSeen(List<SeenCertificate> seen, Instant now) {
        List<AlertRecord> out = new ArrayList<>();
        Instant recent = now.minus(limits.certificateWarning());
        Map<String, SeenCertificate.Peer> latestPeer = new LinkedHashMap<>();
        Map<String, String> latestSha = new LinkedHashMap<>();
        // the store does not keep whether a client's certificate verified: inbound ones are judged when seen again
        seen = seen.stream().map(Conditions::outbound).filter(c -> c != null).toList();
        for (SeenCertificate c : seen) {
            for (SeenCertificate.Peer p : c.peers()) {
                String e = endpoint(p);
                SeenCertificate.Peer before = latestPeer.get(e);
                if (before == null || p.lastSeen().isAfter(before.lastSeen())) {
                    latestPeer.put(e, p);
                    latestSha.put(e, c.sha256());
                }
            }
        }
        for (SeenCertificate c : seen) {
            if (c.notAfter() == null || c.lastSeen() == null || c.lastSeen().isBefore(recent)
                    || !c.notAfter().isBefore(now.plus(limits.certificateWarning()))
                    || c.peers().stream().noneMatch(p -> c.sha256().equals(latestSha.get(endpoint(p))))) {
                continue;
            }
            String key = "partner-certificate:" + c.sha256();
            if (firing.containsKey(key)) continue;
            List<String> endpoints = c.peers().stream().map(Conditions::endpoint).distinct()
                    .limit(Firing.MAX_ENDPOINTS).toList();
            fire(Kind.PARTNER_CERTIFICATE_EXPIRY, key, c.subject(), expiry("partner certificate " + c.subject(),
                            c.notAfter(), now),
                    "seen " + String.join(", ", endpoints) + ", last " + c.lastSeen() + "; sha256 " + c.sha256()
                            + "; issuer " + c.issuer() + "; names " + String.join(", ", c.sans()),
                    now, c.notAfter(), null, null, out);
            Firing f = firing.get(key);
            firing.put(key, new Firing(f.record(), c.lastSeen(), f.notAfter(), endpoints, null));
        }
        return out;
    }

    /** {@code c} as seen outbound only (its places and last sighting there), or null when never seen outbound. */
    private static SeenCertificate outbound(SeenCertificate c) {
        List<SeenCertificate.Peer> out = c.peers().stream().filter(p -> p.direction() == Direction.OUT).toList();
        if (out.size() == c.peers().size()) return c;
        Instant last = out.stream().map(SeenCertificate.Peer::lastSeen).filter(t -> t != null)
                .max(Instant::compareTo).orElse(null);
        return out.isEmpty() ? null : new SeenCertificate(c.sha256(), c.subject(), c.sans(), c.issuer(),
                c.notBefore(), c.notAfter(), c.keyType(), c.keyBits(), c.firstSeen(), last,
                out.stream().mapToLong(SeenCertificate.Peer::sessions).sum(), out);
    }

    /**
     * ENFORCED_DELIVERY_FAILURE: an attempt not delivered for a TLS reason (docs/audit.md's enforced "failed": a
     * 4.7.x/5.7.x status or a reason for running without TLS) under a TLS requirement. The requirement is the
     * session's policy (a level that requires TLS, enforced), or Postern's own refusal before or after connecting (a
     * 4.7.x/5.7.x that no next hop said: DANE, MTA-STS, REQUIRETLS, a policy that cannot be applied). A refusal by
     * the downgrade memory alone is a DOWNGRADE alert instead. Recovered by a delivery to the domain over TLS.
     */
    private void delivery(DeliveryRecord d, List<AlertRecord> out) {
        if (ownMail.containsKey(d.queueId()) || "local".equals(d.mxHost())) return;
        String domain = d.domain();
        String key = "enforced-delivery:" + domain;
        if (d.outcome() == DeliveryRecord.Outcome.DELIVERED) {
            if (d.noTlsReason() == null && d.tlsSessionId() != null) {
                recover(key, domain + ": delivered over TLS again (" + d.mxHost() + ")", d.at(), out);
            }
            return;
        }
        if (!enforcedFailure(d, sessions.get(d.tlsSessionId()))) return;
        String reason = d.reason() == null ? "" : d.reason();
        fire(Kind.ENFORCED_DELIVERY_FAILURE, key, domain, domain + ": delivery under a TLS requirement "
                        + (d.outcome() == DeliveryRecord.Outcome.BOUNCED ? "bounced" : "deferred") + " (" + d.status()
                        + ")" + (d.mxHost() == null ? "" : " at " + d.mxHost()),
                "queue id " + d.queueId() + ", attempt " + d.attempt() + ": " + reason, d.at(), null, null, null,
                out);
    }

    static boolean enforcedFailure(DeliveryRecord d, TlsSessionRecord.PolicyApplied session) {
        if (d.outcome() == DeliveryRecord.Outcome.DELIVERED) return false;
        String status = d.status() == null ? "" : d.status();
        boolean tlsStatus = status.startsWith("4.7.") || status.startsWith("5.7.");
        String reason = d.reason() == null ? "" : d.reason();
        if (reason.contains("(peer memory, over ")) return false; // the memory's refusal: DOWNGRADE
        if (tlsStatus && d.replies().isEmpty()) return true; // our own TLS refusal (Scheduler: 4.7.5, 4.7.10, x.7.30)
        return d.noTlsReason() != null && session != null && REQUIRING.contains(session.level())
                && "enforce".equals(session.mode()) && !"memory".equals(session.source());
    }

    /** PROBE_FAILURE, and a passing probe under a TLS requirement recovers ENFORCED_DELIVERY_FAILURE. */
    private void probe(ProbeRecord p, List<AlertRecord> out) {
        String key = "probe:" + p.domain();
        if (p.ok()) {
            recover(key, p.domain() + ": probe passed" + (p.host() == null ? "" : " at " + p.host()), p.at(), out);
            if (p.policyLevel() != null && REQUIRING.contains(p.policyLevel())) {
                recover("enforced-delivery:" + p.domain(), p.domain() + ": a probe under its policy ("
                        + p.policyLevel() + ") passed at " + p.host(), p.at(), out);
            }
            return;
        }
        // only a periodic probe (HealthProbes.SCHEDULED) fires: one asked by hand may be of a domain no periodic
        // probe watches, whose alert nothing would ever recover
        if (!"scheduled".equals(p.trigger())) return;
        fire(Kind.PROBE_FAILURE, key, p.domain(), p.domain() + ": health probe failed"
                        + (p.policyLevel() == null ? "" : " under policy " + p.policyLevel()),
                (p.problem() == null ? "" : p.problem()) + (p.hostsTried().isEmpty() ? ""
                        : "; tried " + String.join("; ", p.hostsTried())), p.at(), null, null, null, out);
    }

    // ---- checks

    /** QUEUE_SIZE and QUEUE_AGE, from the spool's size and its oldest message's arrival (null: empty). */
    List<AlertRecord> queue(int size, Instant oldest, Instant now) {
        List<AlertRecord> out = new ArrayList<>();
        Limits l = limits;
        if (size > l.queueSize()) {
            fire(Kind.QUEUE_SIZE, "queue-size", "queue", "queue holds " + size + " messages, more than "
                    + l.queueSize(), null, now, null, null, null, out);
        } else {
            recover("queue-size", "queue holds " + size + " messages, at most " + l.queueSize() + " again", now, out);
        }
        Duration age = oldest == null ? Duration.ZERO : Duration.between(oldest, now);
        if (age.compareTo(l.queueAge()) > 0) {
            fire(Kind.QUEUE_AGE, "queue-age", "queue", "oldest queued message is " + Durations.format(
                    age.truncatedTo(java.time.temporal.ChronoUnit.MINUTES)) + " old, more than "
                    + Durations.format(l.queueAge()), "received " + oldest, now, null, null, null, out);
        } else {
            recover("queue-age", "oldest queued message is younger than " + Durations.format(l.queueAge())
                    + " again", now, out);
        }
        return out;
    }

    /** One of the gateway's own certificates: the file it is read from, and the certificate's subject and end. */
    record Own(String file, String subject, Instant notAfter, String problem) { }

    /** OWN_CERTIFICATE_EXPIRY for each own certificate; one no longer configured recovers. */
    List<AlertRecord> ownCertificates(List<Own> own, Instant now) {
        List<AlertRecord> out = new ArrayList<>();
        Set<String> keys = new LinkedHashSet<>();
        for (Own o : own) {
            String key = "own-certificate:" + o.file();
            keys.add(key);
            if (o.notAfter() == null) continue; // unreadable: the reload and the start say so; nothing to judge
            if (o.notAfter().isBefore(now.plus(limits.certificateWarning()))) {
                fire(Kind.OWN_CERTIFICATE_EXPIRY, key, o.subject(), expiry("our certificate " + o.subject(),
                        o.notAfter(), now), "file " + o.file(), now, o.notAfter(), null, null, out);
            } else {
                recover(key, "our certificate " + o.file() + " is valid until " + o.notAfter(), now, out);
            }
        }
        for (Map.Entry<String, Firing> e : List.copyOf(firing.entrySet())) {
            if (e.getValue().record().kind() == Kind.OWN_CERTIFICATE_EXPIRY && !keys.contains(e.getKey())) {
                recover(e.getKey(), e.getKey().substring("own-certificate:".length()) + " is no longer served", now,
                        out);
            }
        }
        return out;
    }

    /** Partner certificates not seen for the warning period recover (the partner is gone, or changed unseen). */
    List<AlertRecord> unseen(Instant now) {
        List<AlertRecord> out = new ArrayList<>();
        Duration warn = limits.certificateWarning();
        for (Map.Entry<String, Firing> e : List.copyOf(firing.entrySet())) {
            Firing f = e.getValue();
            if (f.record().kind() == Kind.PARTNER_CERTIFICATE_EXPIRY && f.lastSeen().plus(warn).isBefore(now)) {
                recover(e.getKey(), f.record().subject() + ": not seen for " + Durations.format(warn)
                        + " (last " + f.lastSeen() + ")", now, out);
            }
        }
        return out;
    }

    // ---- state changes

    private void fire(Kind kind, String key, String subject, String summary, String detail, Instant at,
                      Instant notAfter, String endpoint, String level, List<AlertRecord> out) {
        Firing f = firing.get(key);
        if (f != null) { // de-duplicated: still firing
            firing.put(key, f.seen(at, endpoint));
            dirty = true;
            return;
        }
        AlertRecord r = new AlertRecord(at, key, kind, subject == null ? "" : subject, State.FIRING, summary, detail);
        firing.put(key, new Firing(r, at, notAfter, endpoint == null ? List.of() : List.of(endpoint), level));
        dirty = true;
        out.add(r);
    }

    private void recover(String key, String summary, Instant at, List<AlertRecord> out) {
        Firing f = firing.remove(key);
        if (f == null) return;
        dirty = true;
        // strictly after the FIRING record: the store's key is (at, key, state), and the order must read right
        Instant when = at.isAfter(f.record().at()) ? at : f.record().at().plusMillis(1);
        out.add(new AlertRecord(when, key, f.record().kind(), f.record().subject(), State.RECOVERED, summary,
                "firing since " + f.record().at() + ": " + f.record().summary()));
    }

    private static String expiry(String what, Instant notAfter, Instant now) {
        long days = Duration.between(now, notAfter).toDays();
        return notAfter.isBefore(now) ? what + " expired on " + notAfter
                : what + " expires on " + notAfter + " (in " + days + " day" + (days == 1 ? "" : "s") + ")";
    }

    private static <K, V> Map<K, V> bounded() {
        return new LinkedHashMap<>(256, 0.75f, false) {
            @Override protected boolean removeEldestEntry(Map.Entry<K, V> eldest) {
                return size() > RECENT;
            }
        };
    }
}
