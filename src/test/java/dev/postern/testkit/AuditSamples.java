package dev.postern.testkit;

import dev.postern.audit.AuditRecord;
import dev.postern.audit.CertificateSummary;
import dev.postern.audit.DeliveryRecord;
import dev.postern.audit.DeliveryRecord.Outcome;
import dev.postern.audit.MessageRecord;
import dev.postern.audit.TlsSessionRecord;
import dev.postern.audit.TlsSessionRecord.Direction;
import dev.postern.audit.TlsSessionRecord.NoTls;
import dev.postern.audit.TlsSessionRecord.PolicyApplied;
import dev.postern.audit.TlsSessionRecord.Verification;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/** Audit records with every field set, for store, report and CLI tests. Times are whole milliseconds, as stored. */
public final class AuditSamples {
    private AuditSamples() { }

    public static final Instant T0 = Instant.parse("2026-05-01T10:00:00.123Z");

    public static String sha256(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A leaf certificate summary (with its PEM) for {@code host}, valid until {@code notAfter}. */
    public static CertificateSummary leaf(String host, Instant notAfter) {
        return new CertificateSummary("CN=" + host, List.of(host, "*." + host), "CN=Test CA,O=Example",
                notAfter.minusSeconds(90L * 86400), notAfter, "EC", 256, sha256("cert " + host + notAfter),
                sha256("spki " + host), "-----BEGIN CERTIFICATE-----\nMIIB" + host + "\n-----END CERTIFICATE-----\n");
    }

    /** An intermediate: no PEM kept. */
    public static CertificateSummary intermediate() {
        return new CertificateSummary("CN=Test CA,O=Example", List.of(), "CN=Test Root", T0.minusSeconds(86400),
                T0.plusSeconds(3650L * 86400), "RSA", 4096, sha256("ca"), sha256("ca spki"), null);
    }

    /** An outbound session over TLS 1.3 to {@code host}, verified or not, under {@code level} (enforce). */
    public static TlsSessionRecord out(String id, Instant at, String host, boolean verified, String level) {
        return new TlsSessionRecord(id, at, Direction.OUT, host + ":25", "192.0.2.10", 25, host, null, "TLSv1.3",
                "TLS_AES_256_GCM_SHA384", 256, "x25519", false, host, List.of(leaf(host, T0.plusSeconds(86400 * 60)),
                intermediate()), verified ? Verification.VERIFIED : Verification.FAILED,
                verified ? "verified for " + host : "unable to find valid certification path", "not-asked", null,
                null, new PolicyApplied(level, "static", "static entry \"" + host + "\"", "enforce", List.of()));
    }

    /** An outbound session that stayed in clear text (STARTTLS not offered) under "may". */
    public static TlsSessionRecord outClear(String id, Instant at, String host) {
        return new TlsSessionRecord(id, at, Direction.OUT, host + ":25", "192.0.2.20", 25, host, null, null, null,
                -1, null, false, null, List.of(), Verification.NOT_CHECKED, null, "not-asked", NoTls.NOT_OFFERED,
                "250 no STARTTLS", new PolicyApplied("may", "default", null, "enforce", List.of()));
    }

    /** An inbound session from {@code ehlo}, over TLS 1.2 or in clear text. */
    public static TlsSessionRecord in(String id, Instant at, String ehlo, boolean tls, boolean verified) {
        return new TlsSessionRecord(id, at, Direction.IN, "mx 0.0.0.0:25", "198.51.100.7", 40000, ehlo,
                "rdns." + ehlo, tls ? "TLSv1.2" : null, tls ? "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" : null,
                tls ? 128 : -1, tls ? "secp256r1" : null, false, tls ? "mx.gw.example" : null,
                verified ? List.of(leaf(ehlo, T0.plusSeconds(86400 * 10))) : List.of(),
                verified ? Verification.VERIFIED : Verification.NOT_CHECKED, verified ? "client certificate verified"
                : null, verified ? "verified" : tls ? "asked-none-sent" : null, tls ? null : NoTls.NOT_OFFERED, null,
                new PolicyApplied("may", "listener", null, "enforce", List.of()));
    }

    public static MessageRecord message(String queueId, Instant at, String sender, List<String> recipients,
                                        String sessionId) {
        return new MessageRecord(at, queueId, queueId + "@client.example", sender, recipients, 1234, sessionId,
                "198.51.100.7", "client.example", null, null, false, "smtp");
    }

    public static DeliveryRecord delivered(String queueId, Instant at, String recipient, String sessionId) {
        return new DeliveryRecord(at, queueId, recipient, 1, "mx." + domainOf(recipient), 10, "192.0.2.10", 25,
                sessionId, sessionId == null ? "STARTTLS not offered" : null, List.of("250 2.0.0 Ok"),
                DeliveryRecord.Outcome.DELIVERED, "2.0.0", "250 2.0.0 Ok", null, List.of());
    }

    public static DeliveryRecord failed(String queueId, Instant at, String recipient, int attempt,
                                        DeliveryRecord.Outcome outcome, String status, String noTlsReason) {
        return new DeliveryRecord(at, queueId, recipient, attempt, "mx." + domainOf(recipient), 10, "192.0.2.10", 25,
                null, noTlsReason, List.of(), outcome, status, "TLS required by policy", null,
                List.of("mx." + domainOf(recipient) + "[192.0.2.10]:25 " + noTlsReason));
    }

    /** The start of {@link #knownTraffic()}'s report window: it leaves out its earlier records. */
    public static final Instant SINCE = T0.minus(Duration.ofHours(1));

    /** Traffic whose TLS report is known (TlsReportTest checks it); each block says what it must count as. */
    public static List<AuditRecord> knownTraffic() {
        List<AuditRecord> r = new ArrayList<>();
        Instant at = T0;
        // OUT: 10 recipients at bank.example delivered over verified TLS (policy verify), one session each
        for (int i = 0; i < 10; i++) {
            r.add(out("bank" + i, at, "mx.bank.example", true, "verify"));
            r.add(delivered("QB" + i, at, "u" + i + "@bank.example", "bank" + i));
        }
        // ... and 3 attempts to bank.example that failed the TLS requirement before any session: enforced failures
        r.add(failed("QBF0", at, "f0@bank.example", 1, Outcome.DEFERRED, "4.7.5",
                "TLS required by policy: certificate not verified"));
        r.add(failed("QBF0", at, "f0@bank.example", 2, Outcome.DEFERRED, "4.7.5",
                "TLS required by policy: certificate not verified"));
        r.add(failed("QBF1", at, "f1@bank.example", 1, Outcome.BOUNCED, "5.7.10",
                "TLS required by policy: STARTTLS not offered"));
        // OUT: 5 delivered to partner.example encrypted but not verified (policy may)
        for (int i = 0; i < 5; i++) {
            r.add(out("partner" + i, at, "mx.partner.example", false, "may"));
            r.add(delivered("QP" + i, at, "u" + i + "@partner.example", "partner" + i));
        }
        // ... and 1 whose session record is missing: unknown
        r.add(delivered("QP9", at, "u9@partner.example", "gone"));
        // OUT: 1 to test.example, unverified, under verify in testing mode that would have failed
        TlsSessionRecord t = out("test0", at, "mx.test.example", false, "verify");
        r.add(new TlsSessionRecord(t.id(), t.at(), t.direction(), t.endpoint(), t.peerIp(), t.peerPort(),
                t.ehloName(), t.reverseDns(), t.protocol(), t.cipher(), t.cipherBits(), t.keyExchangeGroup(),
                t.resumed(), t.sni(), t.peerChain(), t.verification(), t.verificationReason(), t.clientCertificate(),
                t.noTls(), t.noTlsDetail(), new PolicyApplied("verify", "static", null, "testing",
                List.of("certificate not verified"))));
        r.add(delivered("QT0", at, "u@test.example", "test0"));
        // OUT: 3 to old.example in clear text: 2 over sessions without STARTTLS, 1 naming no session
        r.add(outClear("old0", at, "mx.old.example"));
        r.add(outClear("old1", at, "mx.old.example"));
        r.add(delivered("QO0", at, "a@old.example", "old0"));
        r.add(delivered("QO1", at, "b@old.example", "old1"));
        r.add(delivered("QO2", at, "c@old.example", null));
        // not counted: a deferral for another reason, a local delivery, and traffic before --since
        r.add(failed("QO3", at, "d@old.example", 1, Outcome.DEFERRED, "4.4.1", null));
        r.add(new DeliveryRecord(at, "QL0", "x@gw.example", 1, "local", -1, null, -1, null, null, List.of(),
                Outcome.DELIVERED, "2.0.0", "delivered to Maildir", null, List.of()));
        Instant before = SINCE.minusSeconds(1);
        r.add(out("early", before, "mx.bank.example", true, "verify"));
        r.add(delivered("QE0", before, "e@bank.example", "early"));
        r.add(in("early-in", before, "mx.spam.example", false, false));
        r.add(message("QE1", before, "s@spam.example", List.of("x@gw.example"), "early-in"));

        // IN: 4 messages from partner.example in 2 verified sessions
        for (int i = 0; i < 2; i++) {
            r.add(in("pin" + i, at, "mx.partner.example", true, true));
            for (int j = 0; j < 2; j++) {
                r.add(message("QIP" + i + j, at, "a@partner.example", List.of("x@gw.example"),
                        "pin" + i));
            }
        }
        // IN: 3 from client.example in one TLS session without a verified certificate
        r.add(in("cin", at, "client.example", true, false));
        for (int j = 0; j < 3; j++) {
            r.add(message("QIC" + j, at, "b@client.example", List.of("x@gw.example"), "cin"));
        }
        // IN: 2 from spam.example in clear text, and a clear session that sent nothing
        r.add(in("sin", at, "mx.spam.example", false, false));
        r.add(message("QIS0", at, "s@spam.example", List.of("x@gw.example"), "sin"));
        r.add(message("QIS1", at, "t@spam.example", List.of("y@gw.example"), "sin"));
        r.add(in("scan", at, "scanner.example", false, false));
        // not a received message: a DSN made here
        r.add(new MessageRecord(at, "QD0", null, "", List.of("a@partner.example"), 100, null, null, null, null, null,
                false, "bounce of QIP00"));
        return r;
    }

    private static String domainOf(String address) {
        return address.substring(address.lastIndexOf('@') + 1);
    }
}
