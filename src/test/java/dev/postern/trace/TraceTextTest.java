package dev.postern.trace;

import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.audit.DeliveryRecord;
import dev.postern.audit.MessageTrace;
import dev.postern.testkit.AuditFixtures;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What {@code postern trace} prints: each outcome, with and without TLS, in words a non-expert can follow. */
class TraceTextTest {

    private static List<String> lines(MessageTrace t) {
        return TraceText.render(t).lines().toList();
    }

    @Test void receivedOverTlsWithAVerifiedClientCertificate() {
        assertThat(lines(AuditFixtures.threeRecipients()).get(0))
                .isEqualTo("Message Q1A2B3 <abc.123@partner.example>, recorded by gw1.example");
        assertThat(lines(AuditFixtures.threeRecipients()).get(1)).isEqualTo("  received from mx.partner.example "
                + "[192.0.2.7] over TLS 1.3 TLS_AES_256_GCM_SHA384 (256-bit), x25519 (client certificate verified: "
                + "CN=mx.partner.example,O=Partner) at 2026-12-02 10:31:05Z, queue id Q1A2B3, Message-ID "
                + "<abc.123@partner.example>, from <a@partner.example> to <b@bank.example>, <c@other.example>, "
                + "<d@slow.example>, 4321 bytes, REQUIRETLS asked for");
    }

    @Test void deliveredOverVerifiedTlsNamesHopCertificatePolicyAndReply() {
        assertThat(lines(AuditFixtures.threeRecipients())).contains("  to <b@bank.example>, attempt 1 at "
                + "2026-12-02 10:31:06Z: delivered to mx1.bank.example [203.0.113.5]:25 (MX 10) over TLS 1.3 "
                + "TLS_AES_256_GCM_SHA384 (256-bit), x25519, certificate verified for *.bank.example (issuer CN=Bank "
                + "Issuing CA,O=Bank), policy secure (static), 250 2.0.0 Ok: queued as 4XyZ");
    }

    @Test void deferralsSayWhyEachHostFailedAndTheDelayNotice() {
        String text = TraceText.render(AuditFixtures.threeRecipients());
        assertThat(text).contains("""
                  to <c@other.example>, attempt 1 at 2026-12-02 10:31:07Z: deferred (4.4.2), to be tried again
                      last host: mx2.other.example [198.51.100.21]:25 (MX 20) without TLS: TLS handshake failed: \
                Received fatal alert: handshake_failure
                      reason: mx1.other.example: connection timed out; mx2.other.example: TLS handshake failed
                      tried mx1.other.example[198.51.100.20]:25 connection timed out
                      tried mx2.other.example[198.51.100.21]:25 TLS handshake failed: Received fatal alert: \
                handshake_failure
                """);
        // an enforced policy's refusal: nothing was sent, so "without TLS", not "in clear text"
        assertThat(text).contains("""
                  to <d@slow.example>, attempt 1 at 2026-12-02 10:31:07Z: deferred (4.7.10), to be tried again
                      last host: mx.slow.example [192.0.2.99]:25 (MX 5) without TLS: STARTTLS not offered: EHLO \
                reply without STARTTLS, policy encrypt (default)
                      reason: TLS required by policy encrypt (default): STARTTLS not offered by mx.slow.example
                      tried mx.slow.example[192.0.2.99]:25 STARTTLS not offered
                      delay notice (DSN) sent to the sender as queue id DLY9
                """);
    }

    @Test void testingModeListsWhatEnforcingWouldHaveFailed() {
        assertThat(lines(AuditFixtures.threeRecipients())).contains("  to <c@other.example>, attempt 2 at "
                + "2026-12-02 10:36:06Z: delivered to mx.other.example [198.51.100.20]:2525 over TLS 1.2 "
                + "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 (128-bit), secp256r1, resumed session, certificate NOT "
                + "verified: self-signed certificate not trusted (subject CN=mx.other.example, issuer "
                + "CN=mx.other.example), policy verify (static), testing mode: enforcing it would have failed: chain: "
                + "self-signed certificate not trusted; min_cipher_bits 256: got 128, 250-2.0.0 accepted 250 2.0.0 id 77");
    }

    @Test void theLastLineSaysWhereEachRecipientStands() {
        assertThat(lines(AuditFixtures.threeRecipients()).getLast()).isEqualTo("  now: <b@bank.example> delivered; "
                + "<c@other.example> delivered after 2 attempts; <d@slow.example> waiting for its next attempt");
    }

    @Test void clearTextHopsAreStatedPlainlyAndLocalDeliveryAndUnicodeNames() {
        assertThat(lines(AuditFixtures.clearTextAndLocal())).containsExactly(
                "Message Q2, recorded by gw1.example",
                "  received from old.partner.example [198.51.100.9] in clear text: the client did not use STARTTLS, at "
                        + "2026-12-02 10:31:05Z, queue id Q2, from <x@old.partner.example> to <u@local.example>, "
                        + "<v@bücher.example>, 900 bytes, authenticated as alice",
                "  to <u@local.example>, attempt 1 at 2026-12-02 10:31:06Z: delivered to the local mailbox (Maildir)",
                "  to <v@bücher.example>, attempt 1 at 2026-12-02 10:31:06Z: delivered to mx.bücher.example "
                        + "[192.0.2.50]:25 (MX 10) in clear text: STARTTLS not offered, policy may (default), 250 OK",
                "  now: <u@local.example> delivered; <v@bücher.example> delivered");
    }

    @Test void bounceNamesItsDsnAndAMissingInboundSessionIsSaid() {
        assertThat(lines(AuditFixtures.bounced())).containsExactly(
                "Message Q3 <lost@partner.example>, recorded by gw1.example",
                "  received from mx.partner.example [192.0.2.7] (its session is not on record: TLS unknown) at "
                        + "2026-12-02 10:31:05Z, queue id Q3, Message-ID <lost@partner.example>, from "
                        + "<a@partner.example> to <nobody@bank.example>, 1200 bytes",
                "  to <nobody@bank.example>, attempt 1 at 2026-12-02 10:31:06Z: bounced (5.1.1), failed for good",
                "      last host: mx1.bank.example [203.0.113.5]:25 (MX 10) over TLS 1.3 TLS_AES_256_GCM_SHA384 "
                        + "(256-bit), x25519, certificate verified for *.bank.example (issuer CN=Bank Issuing CA,O=Bank), "
                        + "policy secure (static)",
                "      reply: 550 5.1.1 <nobody@bank.example>: user unknown",
                "      reason: mx1.bank.example said: 550 5.1.1 <nobody@bank.example>: user unknown",
                "      tried mx1.bank.example[203.0.113.5]:25 550 5.1.1 user unknown",
                "      bounce (DSN) sent to the sender as queue id Q3DSN",
                "  now: <nobody@bank.example> bounced");
    }

    @Test void aDsnIsMadeHereWithTheNullSender() {
        assertThat(lines(AuditFixtures.dsn())).containsExactly(
                "Message Q3DSN <dsn.1@gw1.example>, recorded by gw1.example",
                "  made here (bounce of Q3) at 2026-12-02 10:31:06Z, queue id Q3DSN, Message-ID <dsn.1@gw1.example>, "
                        + "from <> to <a@partner.example>, 2500 bytes",
                "  now: <a@partner.example> no delivery attempt on record yet");
    }

    @Test void aDeliveryWhoseSessionRecordIsMissingSaysSo() {
        MessageTrace t = AuditFixtures.bounced();
        MessageTrace missing = new MessageTrace(t.message(), null, t.deliveries(), Map.of(), t.gateway());
        assertThat(TraceText.render(missing)).contains("last host: mx1.bank.example [203.0.113.5]:25 (MX 10) over TLS "
                + "(session out-bank is not on record)");
    }

    @Test void severalMessagesAreSeparatedByAnEmptyLine() {
        String text = TraceText.render(List.of(AuditFixtures.bounced(), AuditFixtures.dsn()));
        assertThat(text).contains("  now: <nobody@bank.example> bounced\n\nMessage Q3DSN");
    }

    @Test void jsonHoldsEveryRecordWithIsoTimesAndReadsBackEqual() throws Exception {
        List<MessageTrace> traces = List.of(AuditFixtures.threeRecipients(), AuditFixtures.clearTextAndLocal());
        String json = Json.pretty(traces);
        var tree = Json.mapper().readTree(json);
        assertThat(tree.get(0).get("message").get("at").asText()).isEqualTo("2026-12-02T10:31:05Z");
        assertThat(tree.get(0).get("deliveries")).hasSize(4);
        assertThat(tree.get(0).get("deliveries").get(0).get("outcome").asText()).isEqualTo("DELIVERED");
        assertThat(tree.get(0).get("sessions").get("out-bank").get("peerChain").get(0).get("spkiSha256").asText())
                .isEqualTo("b2".repeat(32));
        assertThat(tree.get(0).get("sessions").get("out-other").get("policy").get("wouldFail").get(1).asText())
                .isEqualTo("min_cipher_bits 256: got 128");
        assertThat(tree.get(0).get("inbound").get("protocol").asText()).isEqualTo("TLSv1.3");
        // names stay as recorded (A-labels) in JSON
        assertThat(tree.get(1).get("message").get("recipients").get(1).asText()).isEqualTo("v@xn--bcher-kva.example");
        assertThat(List.of(Json.mapper().readValue(json, MessageTrace[].class))).isEqualTo(traces);
        assertThat(DeliveryRecord.Outcome.valueOf(tree.get(0).get("deliveries").get(1).get("outcome").asText()))
                .isEqualTo(DeliveryRecord.Outcome.DEFERRED);
    }
}
