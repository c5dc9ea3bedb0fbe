package dev.postern.outbound;

import dev.postern.testkit.ListsOnlyTrustManager;
import dev.postern.tls.Certificates;
import dev.postern.tls.Certificates.KeyType;
import dev.postern.tls.KeyMaterial;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;

/**
 * A partner's MX for client-certificate tests, hand-driven line by line: our (bank) certificate, the partner's CA and
 * server certificate (mx.partner.example), and the partner's TLS, the JDK's server with the JDK's PKIX key manager (a
 * partner is not Postern) listing only its own CA when it asks for a client certificate.
 */
final class PartnerMx {
    final KeyMaterial bank;
    final KeyMaterial partnerCa;
    final KeyMaterial partnerServer;
    final SSLContext tls;

    PartnerMx() throws Exception {
        Instant now = Instant.now().minusSeconds(60);
        KeyMaterial bankCa = Certificates.certificateAuthority("Bank CA", KeyType.EC_P256, Duration.ofDays(30));
        bank = Certificates.issue(bankCa, List.of("mail.bank.example"), KeyType.EC_P256, now, Duration.ofDays(10));
        partnerCa = Certificates.certificateAuthority("Partner CA", KeyType.EC_P256, Duration.ofDays(30));
        partnerServer = Certificates.issue(partnerCa, List.of("mx.partner.example"), KeyType.EC_P256, now,
                Duration.ofDays(10));
        KeyManagerFactory f = KeyManagerFactory.getInstance("PKIX");
        KeyStore store = KeyStore.getInstance("PKCS12");
        store.load(null, null);
        store.setKeyEntry("partner", partnerServer.key(), new char[0], partnerServer.chain().toArray(Certificate[]::new));
        f.init(store, new char[0]);
        tls = SSLContext.getInstance("TLS");
        tls.init(f.getKeyManagers(), new TrustManager[] {new ListsOnlyTrustManager(partnerCa.leaf())}, null);
    }

    /** One side of the conversation: reads the client's lines (noting each in {@code seen}), sends replies. */
    static final class Line {
        final BufferedReader in;
        final OutputStream out;
        final List<String> seen;

        Line(Socket s) throws IOException {
            this(s, new ArrayList<>());
        }

        Line(Socket s, List<String> seen) throws IOException {
            in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII));
            out = s.getOutputStream();
            this.seen = seen;
        }

        String read() throws IOException {
            String l = in.readLine();
            if (l != null) seen.add(l);
            return l;
        }

        void send(String reply) throws IOException {
            out.write((reply + "\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
        }

        void expect(String verb) throws IOException {
            String line = read();
            if (line == null || !line.toUpperCase(java.util.Locale.ROOT).startsWith(verb)) {
                throw new IOException("expected " + verb + ", got " + line);
            }
        }
    }
}
