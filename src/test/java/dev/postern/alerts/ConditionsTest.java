package dev.postern.alerts;

import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.audit.AlertRecord;
import dev.postern.audit.DeliveryRecord;
import dev.postern.audit.DeliveryRecord.Outcome;
import dev.postern.audit.ProbeRecord;
import dev.postern.audit.TlsSessionRecord.PolicyApplied;
import dev.postern.peers.Downgrade;
import dev.postern.peers.Level;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The rules of the conditions that the gateway tests do not reach one by one. */
class ConditionsTest {
    static final Instant T = Instant.parse("2026-12-03T08:00:00Z");

    static DeliveryRecord delivery(Outcome outcome, String status, String noTls, List<String> replies,
                                   String reason) {
        return new DeliveryRecord(T, "Q1", "bob@bank.example", 1, "mx.bank.example", 10, "192.0.2.1", 25, "S1",
                noTls, replies, outcome, status, reason, null, List.of());
    }

    static PolicyApplied policy(String level, String mode, String source) {
        return new PolicyApplied(level, source, source, mode, List.of());
    }

    @Test void anEnforcedFailureIsATlsReasonUnderATlsRequirement() {
        // Postern's own refusal (no next hop said 4.7.10): DANE, MTA-STS, a failed STARTTLS requirement
        assertThat(Conditions.enforcedFailure(delivery(Outcome.DEFERRED, "4.7.10", "TLS required by policy for "
                + "bank.example (static): no STARTTLS", List.of(), "451 4.7.10 TLS required by policy"), null))
                .isTrue();
        // a next hop's 5.7.1 (relay refused) after verified TLS under "may": not a TLS failure of ours
        assertThat(Conditions.enforcedFailure(delivery(Outcome.BOUNCED, "5.7.1", null,
                List.of("550 5.7.1 relaying denied"), "550 5.7.1 relaying denied"), policy("may", "enforce",
                "default"))).isFalse();
        // clear text under an enforced "encrypt" session, the next hop's own words
        assertThat(Conditions.enforcedFailure(delivery(Outcome.DEFERRED, "4.3.0", "STARTTLS refused",
                List.of("454 4.3.0 TLS not available"), "454 4.3.0"), policy("encrypt", "enforce", "static")))
                .isTrue();
        // the same in testing mode: the policy asks nothing yet
        assertThat(Conditions.enforcedFailure(delivery(Outcome.DEFERRED, "4.3.0", "STARTTLS refused",
                List.of("454 4.3.0 TLS not available"), "454 4.3.0"), policy("encrypt", "testing", "static")))
                .isFalse();
        // the downgrade memory's refusal is a DOWNGRADE alert
        assertThat(Conditions.enforcedFailure(delivery(Outcome.DEFERRED, "4.7.10", "TLS required",
                List.of(), "451 4.7.10 TLS required by policy for bank.example (peer memory, over default): x"),
                null)).isFalse();
        assertThat(Conditions.enforcedFailure(delivery(Outcome.DELIVERED, "2.0.0", null, List.of("250 ok"), "ok"),
                policy("encrypt", "enforce", "static"))).isFalse();
    }

    @Test void firingIsDeduplicatedAndRecoveryHappensOnce() {
        Conditions c = new Conditions(Map.of(), new Conditions.Limits(Duration.ofDays(21), 10, Duration.ofHours(4)));
        DeliveryRecord failed = delivery(Outcome.DEFERRED, "4.7.10", "TLS required by policy for bank.example",
                List.of(), "451 4.7.10 TLS required by policy for bank.example (static): no STARTTLS");
        assertThat(c.record(failed)).singleElement().satisfies(a -> {
            assertThat(a.state()).isEqualTo(AlertRecord.State.FIRING);
            assertThat(a.key()).isEqualTo("enforced-delivery:bank.example");
        });
        assertThat(c.record(failed)).isEmpty();
        DeliveryRecord ok = delivery(Outcome.DELIVERED, "2.0.0", null, List.of("250 ok"), "250 ok");
        // a delivery in clear text (an override to "may") is not a recovery: the partner still lacks TLS
        assertThat(c.record(new DeliveryRecord(T, "Q2", "bob@bank.example", 1, "mx.bank.example", 10, "192.0.2.1",
                25, "S2", "STARTTLS not offered", List.of("250 ok"), Outcome.DELIVERED, "2.0.0", "250 ok", null,
                List.of()))).isEmpty();
        assertThat(c.record(ok)).singleElement().satisfies(a -> assertThat(a.state())
                .isEqualTo(AlertRecord.State.RECOVERED));
        assertThat(c.record(ok)).isEmpty();
        // an alert mail's own delivery is never judged
        c.ownMail("Q9");
        assertThat(c.record(new DeliveryRecord(T, "Q9", "admin@bank.example", 1, "mx.bank.example", 10, null, -1,
                null, "x", List.of(), Outcome.DEFERRED, "4.7.10", "451 4.7.10 TLS required by policy", null,
                List.of()))).isEmpty();
    }

    /** A probe of bank.example (under "verify") that failed, asked by {@code trigger}. */
    static ProbeRecord failing(String trigger) {
        return new ProbeRecord(T, "bank.example", false, trigger, "verify", "static", null, null, -1, null, null, null,
                "none", "mx.bank.example: does not offer STARTTLS", List.of("mx.bank.example"), 40);
    }

    /** A probe of bank.example (under "verify") a minute later that passed, asked by {@code trigger}. */
    static ProbeRecord passing(String trigger) {
        return new ProbeRecord(T.plusSeconds(60), "bank.example", true, trigger, "verify", "static", "mx.bank.example",
                "192.0.2.1", 25, "S3", "TLSv1.3", "TLS_AES_128_GCM_SHA256", "verified", null, List.of("mx.bank.example"),
                40);
    }

    @Test void aProbeFiresAndAPassingProbeUnderAnEnforcedPolicyRecoversTheDeliveryAlertToo() {
        Conditions c = new Conditions(Map.of(), new Conditions.Limits(Duration.ofDays(21), 10, Duration.ofHours(4)));
        c.record(delivery(Outcome.DEFERRED, "4.7.10", "x", List.of(), "451 4.7.10 TLS required by policy"));
        ProbeRecord bad = failing("scheduled");
        assertThat(c.record(bad)).extracting(AlertRecord::key).containsExactly("probe:bank.example");
        ProbeRecord good = passing("scheduled");
        assertThat(c.record(good)).extracting(AlertRecord::key)
                .containsExactly("probe:bank.example", "enforced-delivery:bank.example");
    }

    @Test void theQueueAgeAndSizeLimits() {
        Conditions c = new Conditions(Map.of(), new Conditions.Limits(Duration.ofDays(21), 2, Duration.ofHours(4)));
        assertThat(c.queue(3, T.minus(Duration.ofHours(5)), T)).extracting(AlertRecord::key)
                .containsExactly("queue-size", "queue-age");
        assertThat(c.queue(3, T.minus(Duration.ofHours(5)), T)).isEmpty();
        assertThat(c.queue(2, T.minus(Duration.ofHours(4)), T)).extracting(AlertRecord::state)
                .containsExactly(AlertRecord.State.RECOVERED, AlertRecord.State.RECOVERED);
        assertThat(c.queue(0, null, T)).isEmpty();
    }

    @Test void theDowngradeTextIsReadBackAsWritten() {
        String text = Downgrade.text("bank.example", Level.VERIFIED, T) + ", this session offered no STARTTLS";
        assertThat(Downgrade.find("mx[192.0.2.1]:25: " + text)).isEqualTo(new Downgrade("bank.example",
                Level.VERIFIED));
        assertThat(Downgrade.find("downgrade: nothing here")).isNull();
        assertThat(Downgrade.find("xdowngrade: bank.example was seen at verified since ")).isNull();
        assertThat(Conditions.memoryDomain("peer memory: bank.example seen at encrypted since 2026-12-01T00:00:00Z, "
                + "over default")).isEqualTo("bank.example");
    }

    static dev.postern.audit.TlsSessionRecord inbound(String id, Instant at, String protocol, PolicyApplied policy) {
        return new dev.postern.audit.TlsSessionRecord(id, at, dev.postern.audit.TlsSessionRecord.Direction.IN,
                "mx 127.0.0.1:25", "192.0.2.7", 40000, "mx.bank.example", null, protocol,
                protocol == null ? null : "TLS_AES_128_GCM_SHA256", protocol == null ? -1 : 128, null, false, null,
                List.of(), null, null, "not-asked", protocol == null ? dev.postern.audit.TlsSessionRecord.NoTls
                .NOT_OFFERED : null, null, policy);
    }

    @Test void anInboundDowngradeFiresAndMailAtTheRememberedLevelRecoversIt() {
        Conditions c = new Conditions(Map.of(), new Conditions.Limits(Duration.ofDays(21), 10, Duration.ofHours(4)));
        String reason = Downgrade.text("bank.example", Level.ENCRYPTED, T.minus(Duration.ofDays(9)))
                + ", this session has no TLS";
        // flagged: the message was accepted in clear text; the session record (made last) carries the mark
        c.record(new dev.postern.audit.MessageRecord(T, "Q1", "m1@bank.example", "a@bank.example",
                List.of("b@a.example"), 100, "S1", "192.0.2.7", "mx.bank.example", null, null, false, false, "smtp"));
        assertThat(c.record(inbound("S1", T, null, new PolicyApplied("encrypt", "memory", reason
                + ", over listener mx", "testing", List.of(reason))))).singleElement().satisfies(a -> {
                    assertThat(a.key()).isEqualTo("downgrade:in:bank.example");
                    assertThat(a.summary()).contains("inbound session below the remembered level encrypted",
                            "flagged, mail went");
                });
        // another domain's mail over TLS recovers nothing; bank.example's over TLS does, once
        c.record(new dev.postern.audit.MessageRecord(T, "Q2", "m2@other.example", "x@other.example",
                List.of("b@a.example"), 100, "S2", "192.0.2.8", "mx.other.example", null, null, false, false, "smtp"));
        assertThat(c.record(inbound("S2", T.plusSeconds(5), "TLSv1.3", new PolicyApplied("may", "listener",
                "listener mx", "enforce", List.of())))).isEmpty();
        c.record(new dev.postern.audit.MessageRecord(T, "Q3", "m3@bank.example", "a@bank.example",
                List.of("b@a.example"), 100, "S3", "192.0.2.7", "mx.bank.example", null, null, false, false, "smtp"));
        assertThat(c.record(inbound("S3", T.plusSeconds(10), "TLSv1.3", new PolicyApplied("may", "listener",
                "listener mx", "enforce", List.of())))).singleElement().satisfies(a -> {
                    assertThat(a.state()).isEqualTo(AlertRecord.State.RECOVERED);
                    assertThat(a.key()).isEqualTo("downgrade:in:bank.example");
                });
    }
    /** An inbound session from {@code ip} showing a client certificate ({@code judged}: "verified", "untrusted: ..."). */
    static dev.postern.audit.TlsSessionRecord clientCertificate(String id, String ip, String sha256, String judged) {
        var leaf = new dev.postern.audit.CertificateSummary("CN=client " + id, List.of(), "CN=client " + id,
                T.minus(Duration.ofDays(1)), T.plus(Duration.ofDays(2)), "EC", 256, sha256, sha256, null);
        return new dev.postern.audit.TlsSessionRecord(id, T, dev.postern.audit.TlsSessionRecord.Direction.IN,
                "mx 127.0.0.1:25", ip, 40000, "anyone.example", null, "TLSv1.3", "TLS_AES_128_GCM_SHA256", 128, null,
                false, null, List.of(leaf), null, null, judged, null, null, new PolicyApplied("may", "listener",
                "listener mx", "enforce", List.of()));
    }

    @Test void anyClientsUntrustedCertificatesRaiseNoAlertsOnlyAVerifiedOneDoes() {
        // anyone on the internet may present a self-made certificate ending tomorrow, a new one per connection: each
        // would be an alert mail and a webhook call, and a key kept firing (an alert flood for the price of a
        // handshake)
        Conditions c = new Conditions(Map.of(), new Conditions.Limits(Duration.ofDays(21), 10, Duration.ofHours(4)));
        for (int i = 0; i < 500; i++) {
            String sha = String.format("%064x", i);
            assertThat(c.record(clientCertificate("S" + i, "203.0.113." + (i % 250), sha,
                    "untrusted: self-signed certificate"))).isEmpty();
        }
        assertThat(c.firing()).isEmpty();
        // nor at start from the store, which does not keep whether a client certificate verified
        var in = new dev.postern.audit.SeenCertificate.Peer(dev.postern.audit.TlsSessionRecord.Direction.IN,
                "mx 127.0.0.1:25", "203.0.113.9", "gw", 1, T, T);
        assertThat(c.certificatesSeen(List.of(new dev.postern.audit.SeenCertificate("cd".repeat(32), "CN=x",
                List.of(), "CN=x", T.minus(Duration.ofDays(1)), T.plus(Duration.ofDays(2)), "EC", 256, T, T, 1,
                List.of(in))), T)).isEmpty();
        // a partner's verified client certificate ending in 2 days is what the alert is for
        assertThat(c.record(clientCertificate("SV", "192.0.2.7", "ab".repeat(32), "verified"))).singleElement()
                .satisfies(a -> assertThat(a.kind()).isEqualTo(AlertRecord.Kind.PARTNER_CERTIFICATE_EXPIRY));
    }
    /**
     * A probe asked by hand ({@code postern probe}, {@code POST /api/probes/D}) of a domain that is not watched would
     * fire an alert nothing recovers: no periodic probe of it ever passes. Only periodic probes fire; any passing one
     * recovers.
     */
    @Test void aFailingProbeAskedByHandFiresNothing() {
        Conditions c = new Conditions(Map.of(), new Conditions.Limits(Duration.ofDays(21), 10, Duration.ofHours(4)));
        for (String by : List.of("admin-api", "alice", "cli")) {
            assertThat(c.record(new ProbeRecord(T, "typo.example", false, by, "may", "default", null, null, -1,
                    null, null, null, "none", "no MX and no address", List.of(), 40))).isEmpty();
        }
        assertThat(c.firing()).isEmpty();
        ProbeRecord bad = failing("scheduled");
        assertThat(c.record(bad)).extracting(AlertRecord::key).containsExactly("probe:bank.example");
        ProbeRecord byHand = passing("admin-api");
        assertThat(c.record(byHand)).extracting(AlertRecord::key).containsExactly("probe:bank.example");
    }
}
