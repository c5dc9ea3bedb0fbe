package dev.postern.recipients;

/** Asks a relay domain's next hop whether an address exists (a probe: MAIL FROM:&lt;&gt;, RCPT TO, no DATA). */
@FunctionalInterface
public interface Verifier {
    /**
     * @param address the address to ask about, domain in A-label form
     * @param domain  its domain in A-label form (routing and TLS policy are the domain's)
     * @return {@link Verdict.Accepted}, {@link Verdict.Refused} or {@link Verdict.Unverified}; never throws
     */
    Verdict verify(String address, String domain);
}
