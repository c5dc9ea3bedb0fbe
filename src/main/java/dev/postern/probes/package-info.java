/**
 * Health probes: check that mail to a domain would go out as its policy demands, without sending mail.
 * {@link dev.postern.probes.TlsProber} is the one probe of a destination (route or MX, the policy as delivery
 * resolves it, DANE per host, MTA-STS, the downgrade memory's floor, STARTTLS, the check, QUIT), shared by
 * {@code postern tls probe}, {@code postern probe} and the periodic probes; {@link dev.postern.probes.ProbeTargets}
 * says which domains are watched and why; {@link dev.postern.probes.HealthProbes} runs them on a jittered schedule
 * and hands each result to the audit as a {@code ProbeRecord}; {@link dev.postern.probes.ProbeApi} is their admin
 * API. See docs/monitoring.md, section "Health probes".
 */
package dev.postern.probes;
