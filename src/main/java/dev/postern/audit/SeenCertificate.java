package dev.postern.audit;

import dev.postern.audit.TlsSessionRecord.Direction;
import java.time.Instant;
import java.util.List;

/**
 * A distinct peer leaf certificate seen on the wire, and where: what {@code postern certs seen} lists so an
 * administrator can warn a partner before its certificate expires.
 *
 * @param sessions how many recorded sessions presented it
 * @param peers    each endpoint and peer address it was seen at, most recently seen first
 */
public record SeenCertificate(String sha256, String subject, List<String> sans, String issuer, Instant notBefore,
                              Instant notAfter, String keyType, int keyBits, Instant firstSeen, Instant lastSeen,
                              long sessions, List<Peer> peers) {
    public SeenCertificate {
        sans = List.copyOf(sans);
        peers = List.copyOf(peers);
    }

    /**
     * One place a certificate was seen.
     *
     * @param endpoint in: our listener; out: the next hop's name and port
     * @param peerIp   the other side's address
     * @param gateway  the gateway that saw it
     */
    public record Peer(Direction direction, String endpoint, String peerIp, String gateway, long sessions,
                       Instant firstSeen, Instant lastSeen) { }
}
