package dev.postern.outbound;

import static dev.postern.outbound.Outbound.awaitEnvelope;
import static dev.postern.outbound.Outbound.recipient;

import dev.postern.audit.TlsSessionRecord;
import dev.postern.cli.Gateway;
import dev.postern.dns.TlsaRecord;
import dev.postern.testkit.RecordingAudit;
import dev.postern.testkit.ScriptedSmtpServer;
import dev.postern.tls.TestPki;
import dev.postern.tls.TestPki.Issued;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.cert.X509Certificate;

/**
 * What the DANE delivery tests share: a test CA whose intermediate issues the MX hosts' certificates, the TLSA
 * records a zone publishes for them, scripted MX hosts that present them over STARTTLS, and what the gateway made of
 * an attempt.
 */
final class DaneHosts {
    private DaneHosts() {}

    /** A root and the intermediate that issues every MX host's certificate (the DANE-TA trust anchor). */
    record Pki(Issued root, Issued inter) {
        static Pki create(String name) {
            Issued root = TestPki.root(name + " Root");
            return new Pki(root, TestPki.cert(name + " Intermediate").issuer(root).ca().build());
        }

        /** A leaf naming only {@code dns}, issued by the intermediate. */
        Issued leaf(String dns) {
            return TestPki.leaf(inter, dns);
        }

        /**
         * An MX host on {@code ip:port} (port 0: the OS picks) offering STARTTLS with {@code cert} and the
         * intermediate after it, as a server must send it for a DANE-TA record naming the intermediate.
         */
        ScriptedSmtpServer host(Issued cert, String ip, int port) throws IOException {
            return ScriptedSmtpServer.create().enhancedStatusCodes().starttls(cert.material(inter.cert()))
                    .start(new InetSocketAddress(ip, port));
        }
    }

    /** A TLSA record for {@code cert} (selector 0: the whole certificate, 1: its public key), SHA2-256. */
    static TlsaRecord tlsa(int usage, int selector, X509Certificate cert) throws GeneralSecurityException {
        byte[] selected = selector == 0 ? cert.getEncoded() : cert.getPublicKey().getEncoded();
        return new TlsaRecord(usage, selector, 1, MessageDigest.getInstance("SHA-256").digest(selected));
    }

    /** The outbound TLS session record of the connection to {@code ip} (waits for it). */
    static TlsSessionRecord session(RecordingAudit audit, String ip) {
        return audit.await(TlsSessionRecord.class,
                r -> r.direction() == TlsSessionRecord.Direction.OUT && ip.equals(r.peerIp()));
    }

    /** What the queue says of {@code rcpt} after the message's first attempt (the deferral reason). */
    static String lastResult(Gateway gw, String id, String rcpt) {
        return recipient(awaitEnvelope(gw, id, e -> recipient(e, rcpt).attempts() >= 1), rcpt).lastResult();
    }
}
