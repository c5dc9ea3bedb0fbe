package dev.postern.audit;

import java.time.Instant;

/**
 * The leaf certificate a domain's next hop presented on the most recent delivery attempt to it that recorded one: the
 * same certificate {@code postern certs seen} lists under its {@code sha256}.
 *
 * @param seen   when that attempt was made
 * @param mxHost the host that presented it
 */
public record PartnerCertificate(String domain, String sha256, String subject, Instant notAfter, Instant seen,
                                 String mxHost) { }
