package dev.postern.testkit;

import dev.postern.audit.CertificateSummary;
import dev.postern.audit.DeliveryRecord;
import dev.postern.audit.DeliveryRecord.Outcome;
import dev.postern.audit.MessageRecord;
import dev.postern.audit.MessageTrace;
import dev.postern.audit.TlsSessionRecord;
import dev.postern.audit.TlsSessionRecord.Direction;
import dev.postern.audit.TlsSessionRecord.NoTls;
import dev.postern.audit.TlsSessionRecord.PolicyApplied;
import dev.postern.audit.TlsSessionRecord.Verification;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * Message traces as the audit store would return them, for the tests of what is made of them (trace text, JSON,
 * receipts): each built from records with every field set, and known values to look for in the output.
 */
public final class AuditFixtures {
    private AuditFixtures() {}

    public static final Instant RECEIVED = Instant.parse("2026-12-02T10:31:05Z");
    public static final String GATEWAY = "gw1.example";

    public static CertificateSummary certificate(String subject, String issuer, String sha256, String spki,
                                                 String... sans) {
        return new CertificateSummary(subject, List.of(sans), issuer, Instant.parse("2026-01-01T00:00:00Z"),
                Instant.parse("2027-02-01T00:00:00Z"), "EC", 256, sha256, spki, "-----BEGIN CERTIFICATE-----\n...");
    }

    /** The inbound session: TLS 1.3 from mx.partner.example with a verified client certificate. */
    public static TlsSessionRecord inboundTls() {
        return new TlsSessionRecord("in-1", RECEIVED, Direction.IN, "mx 0.0.0.0:25", "192.0.2.7", 40112,
                "mx.partner.example", "mx.partner.example", "TLSv1.3", "TLS_AES_256_GCM_SHA384", 256, "x25519",
                false, "mx.bank.example",
                List.of(certificate("CN=mx.partner.example,O=Partner", "CN=Partner CA", "aa".repeat(32),
                        "ab".repeat(32), "mx.partner.example")),
                Verification.VERIFIED, "verified", "verified", null, null,
                new PolicyApplied("may", "listener", null, "enforce", List.of()));
    }

    /** An inbound session in clear text: the client did not use STARTTLS. */
    public static TlsSessionRecord inboundClear() {
        return new TlsSessionRecord("in-2", RECEIVED, Direction.IN, "mx 0.0.0.0:25", "198.51.100.9", 51000,
                "old.partner.example", null, null, null, -1, null, false, null, List.of(), Verification.NOT_CHECKED,
                null, null, NoTls.NOT_OFFERED, null, new PolicyApplied("may", "listener", null, "enforce", List.of()));
    }

    /** Outbound to mx1.bank.example: TLS 1.3, verified for *.bank.example, policy secure (static). */
    public static TlsSessionRecord bankSession() {
        return new TlsSessionRecord("out-bank", RECEIVED.plusSeconds(1), Direction.OUT, "mx1.bank.example:25",
                "203.0.113.5", 25, "mx1.bank.example", null, "TLSv1.3", "TLS_AES_256_GCM_SHA384", 256, "x25519",
                false, "mx1.bank.example",
                List.of(certificate("CN=*.bank.example", "CN=Bank Issuing CA,O=Bank", "b1".repeat(32),
                        "b2".repeat(32), "*.bank.example", "bank.example"),
                        certificate("CN=Bank Issuing CA,O=Bank", "CN=Bank Root", "b3".repeat(32), "b4".repeat(32))),
                Verification.VERIFIED, "verified for *.bank.example (issuer CN=Bank Issuing CA,O=Bank)", "not-asked",
                null, null, new PolicyApplied("secure", "static", "static entry \"bank.example\"", "enforce", List.of()));
    }

    /** Outbound to mx.other.example: TLS 1.2, certificate not verified, policy verify in testing mode. */
    public static TlsSessionRecord otherSession() {
        return new TlsSessionRecord("out-other", RECEIVED.plusSeconds(300), Direction.OUT, "mx.other.example:2525",
                "198.51.100.20", 2525, "mx.other.example", null, "TLSv1.2",
                "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", 128, "secp256r1", true, "mx.other.example",
                List.of(certificate("CN=mx.other.example", "CN=mx.other.example", "c1".repeat(32), "c2".repeat(32),
                        "mx.other.example")),
                Verification.FAILED, "self-signed certificate not trusted", "not-asked", null, null,
                new PolicyApplied("verify", "static", "static entry \".other.example\"", "testing",
                        List.of("chain: self-signed certificate not trusted", "min_cipher_bits 256: got 128")));
    }

    /** Outbound to mx.slow.example: STARTTLS not offered, policy encrypt: nothing sent. */
    public static TlsSessionRecord slowSession() {
        return new TlsSessionRecord("out-slow", RECEIVED.plusSeconds(2), Direction.OUT, "mx.slow.example:25",
                "192.0.2.99", 25, "mx.slow.example", null, null, null, -1, null, false, null, List.of(),
                Verification.NOT_CHECKED, null, null, NoTls.NOT_OFFERED, "EHLO reply without STARTTLS",
                new PolicyApplied("encrypt", "default", null, "enforce", List.of()));
    }

    /**
     * Three recipients: b@bank.example delivered over verified TLS 1.3 (attempt 1); c@other.example deferred once
     * (handshake failed on its first MX, its second timed out) then delivered over unverified TLS 1.2 in testing
     * mode; d@slow.example deferred, STARTTLS not offered under an encrypt policy, a delay DSN sent.
     */
    public static MessageTrace threeRecipients() {
        MessageRecord m = new MessageRecord(RECEIVED, "Q1A2B3", "abc.123@partner.example", "a@partner.example",
                List.of("b@bank.example", "c@other.example", "d@slow.example"), 4321, "in-1", "192.0.2.7",
                "mx.partner.example", null, "CN=mx.partner.example,O=Partner", true, "smtp");
        List<DeliveryRecord> deliveries = List.of(
                new DeliveryRecord(RECEIVED.plusSeconds(1), "Q1A2B3", "b@bank.example", 1, "mx1.bank.example", 10,
                        "203.0.113.5", 25, "out-bank", null, List.of("250 2.0.0 Ok: queued as 4XyZ"),
                        Outcome.DELIVERED, "2.0.0", "delivered", null, List.of("mx1.bank.example[203.0.113.5]:25 delivered")),
                new DeliveryRecord(RECEIVED.plusSeconds(2), "Q1A2B3", "c@other.example", 1, "mx2.other.example", 20,
                        "198.51.100.21", 25, null, "TLS handshake failed: Received fatal alert: handshake_failure",
                        List.of(), Outcome.DEFERRED, "4.4.2", "mx1.other.example: connection timed out\nmx2.other.example: TLS handshake failed",
                        null, List.of("mx1.other.example[198.51.100.20]:25 connection timed out",
                        "mx2.other.example[198.51.100.21]:25 TLS handshake failed: Received fatal alert: handshake_failure")),
                new DeliveryRecord(RECEIVED.plusSeconds(2), "Q1A2B3", "d@slow.example", 1, "mx.slow.example", 5,
                        "192.0.2.99", 25, "out-slow", "TLS required by policy encrypt: STARTTLS not offered",
                        List.of(), Outcome.DEFERRED, "4.7.10", "TLS required by policy encrypt (default): STARTTLS not offered by mx.slow.example",
                        "DLY9", List.of("mx.slow.example[192.0.2.99]:25 STARTTLS not offered")),
                new DeliveryRecord(RECEIVED.plusSeconds(301), "Q1A2B3", "c@other.example", 2, "mx.other.example", -1,
                        "198.51.100.20", 2525, "out-other", null, List.of("250-2.0.0 accepted", "250 2.0.0 id 77"),
                        Outcome.DELIVERED, "2.0.0", "delivered", null, List.of("mx.other.example[198.51.100.20]:2525 delivered")));
        return new MessageTrace(m, inboundTls(), deliveries,
                Map.of("out-bank", bankSession(), "out-other", otherSession(), "out-slow", slowSession()), GATEWAY);
    }

    /** From a client in clear text to a local mailbox and to a domain whose MX took it in clear text. */
    public static MessageTrace clearTextAndLocal() {
        TlsSessionRecord clearOut = new TlsSessionRecord("out-clear", RECEIVED.plusSeconds(1), Direction.OUT,
                "mx.xn--bcher-kva.example:25", "192.0.2.50", 25, "mx.xn--bcher-kva.example", null, null, null, -1,
                null, false, null, List.of(), Verification.NOT_CHECKED, null, null, NoTls.NOT_OFFERED, null,
                new PolicyApplied("may", "default", null, "enforce", List.of()));
        MessageRecord m = new MessageRecord(RECEIVED, "Q2", null, "x@old.partner.example",
                List.of("u@local.example", "v@xn--bcher-kva.example"), 900, "in-2", "198.51.100.9",
                "old.partner.example", "alice", null, false, "smtp");
        return new MessageTrace(m, inboundClear(), List.of(
                new DeliveryRecord(RECEIVED.plusSeconds(1), "Q2", "u@local.example", 1, "local", -1, null, -1, null,
                        null, List.of(), Outcome.DELIVERED, "2.0.0", "delivered to Maildir", null, List.of()),
                new DeliveryRecord(RECEIVED.plusSeconds(1), "Q2", "v@xn--bcher-kva.example", 1,
                        "mx.xn--bcher-kva.example", 10, "192.0.2.50", 25, "out-clear", "STARTTLS not offered",
                        List.of("250 OK"), Outcome.DELIVERED, "2.0.0", "delivered", null, List.of())),
                Map.of("out-clear", clearOut), GATEWAY);
    }

    /** A bounce: 550 5.1.1 from the next hop, DSN Q3DSN made; the inbound session record is missing. */
    public static MessageTrace bounced() {
        MessageRecord m = new MessageRecord(RECEIVED, "Q3", "lost@partner.example", "a@partner.example",
                List.of("nobody@bank.example"), 1200, "in-gone", "192.0.2.7", "mx.partner.example", null, null,
                false, "smtp");
        return new MessageTrace(m, null, List.of(new DeliveryRecord(RECEIVED.plusSeconds(1), "Q3",
                "nobody@bank.example", 1, "mx1.bank.example", 10, "203.0.113.5", 25, "out-bank", null,
                List.of("550 5.1.1 <nobody@bank.example>: user unknown"), Outcome.BOUNCED, "5.1.1",
                "mx1.bank.example said: 550 5.1.1 <nobody@bank.example>: user unknown", "Q3DSN",
                List.of("mx1.bank.example[203.0.113.5]:25 550 5.1.1 user unknown"))),
                Map.of("out-bank", bankSession()), GATEWAY);
    }

    /** The DSN made for {@link #bounced()}: made here, null sender, not delivered yet. */
    public static MessageTrace dsn() {
        MessageRecord m = new MessageRecord(RECEIVED.plusSeconds(1), "Q3DSN", "dsn.1@gw1.example", "",
                List.of("a@partner.example"), 2500, null, null, null, null, null, false, "bounce of Q3");
        return new MessageTrace(m, null, List.of(), Map.of(), GATEWAY);
    }
}
