package dev.postern.tlsrpt;

import dev.postern.audit.TlsRptGroup;
import dev.postern.logging.Untrusted;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * One UTC day's outbound sessions (the audit store's {@link TlsRptGroup}s) as RFC 8460 reports, one per policy
 * domain: a {@code policies} entry per policy type the domain's sessions counted under ({@code tlsa} first, then
 * {@code sts}, then {@code no-policy-found}), with the sessions that met it, those that failed, and the failures
 * grouped by result type, MX host, address and reason.
 */
public final class Aggregate {
    private Aggregate() {}

    /** Who makes the reports: {@code organization-name}, {@code contact-info}, the submitter (our host name). */
    public record Maker(String organization, String contact, String submitter) { }

    /** What a report says of the policy itself, looked up when the report is made. */
    public interface PolicyTexts {
        /** The domain's MTA-STS policy as Postern holds it (its cache), or empty. */
        Optional<dev.postern.mtasts.Policy> sts(String domain);

        /** The DNSSEC-secure TLSA records of an MX host for port 25 in presentation form; empty when not known. */
        List<String> tlsa(String mxHost);

        /**
         * The MTA-STS policy from {@code sts} (the gateway's, or the cache offline), the TLSA records from
         * {@code dns} (port 25, DNSSEC-secure answers only; a failed lookup gives none).
         */
        static PolicyTexts of(dev.postern.mtasts.PolicySource sts, dev.postern.dns.DnsResolver dns) {
            return new PolicyTexts() {
                @Override public Optional<dev.postern.mtasts.Policy> sts(String domain) {
                    return sts.policyFor(domain).map(dev.postern.mtasts.CachedPolicy::policy);
                }

                @Override public List<String> tlsa(String mxHost) {
                    try {
                        dev.postern.dns.TlsaResult r = dns.lookupTlsa(mxHost, 25);
                        return r.security() != dev.postern.dns.Security.SECURE ? List.of()
                                : r.records().stream().map(Object::toString).toList();
                    } catch (dev.postern.dns.DnsException e) {
                        return List.of();
                    }
                }
            };
        }

        PolicyTexts NONE = new PolicyTexts() {
            @Override public Optional<dev.postern.mtasts.Policy> sts(String domain) { return Optional.empty(); }

            @Override public List<String> tlsa(String mxHost) { return List.of(); }
        };
    }

    /** The first and last second of {@code day} (RFC 8460's example report covers 00:00:00Z to 23:59:59Z). */
    public static Report.DateRange range(LocalDate day) {
        Instant start = day.atStartOfDay(ZoneOffset.UTC).toInstant();
        return new Report.DateRange(start, start.plusSeconds(86_399));
    }

    /** The id of {@code domain}'s report for {@code day}: unique per maker, day and domain, and a valid Message-ID. */
    public static String reportId(LocalDate day, String domain, String submitter) {
        return "tlsrpt." + day.toString().replace("-", "") + "." + domain + "@" + submitter;
    }

    /** The reports of {@code day}, by policy domain (sorted); domains without a session counted are left out. */
    public static Map<String, Report> reports(LocalDate day, List<TlsRptGroup> groups, Maker maker,
                                              PolicyTexts texts) {
        Map<String, Map<String, List<TlsRptGroup>>> byDomain = new TreeMap<>();
        for (TlsRptGroup g : groups) {
            byDomain.computeIfAbsent(g.policyDomain(), d -> new TreeMap<>(Aggregate::typeOrder))
                    .computeIfAbsent(g.policyType(), t -> new ArrayList<>()).add(g);
        }
        Map<String, Report> out = new LinkedHashMap<>();
        byDomain.forEach((domain, types) -> {
            List<Report.PolicyResult> policies = new ArrayList<>();
            types.forEach((type, rows) -> policies.add(policy(domain, type, rows, texts)));
            out.put(domain, new Report(maker.organization(), range(day), maker.contact(),
                    reportId(day, domain, maker.submitter()), policies));
        });
        return out;
    }

    private static int typeOrder(String a, String b) {
        return Integer.compare(rank(a), rank(b)) != 0 ? Integer.compare(rank(a), rank(b)) : a.compareTo(b);
    }

    private static int rank(String type) {
        return switch (type) {
            case Report.PolicyType.TLSA -> 0;
            case Report.PolicyType.STS -> 1;
            default -> 2;
        };
    }

    private static Report.PolicyResult policy(String domain, String type, List<TlsRptGroup> rows, PolicyTexts texts) {
        long ok = 0, failed = 0;
        TreeSet<String> hosts = new TreeSet<>();
        List<Report.FailureDetail> details = new ArrayList<>();
        for (TlsRptGroup g : rows) {
            if (g.mxHost() != null) hosts.add(g.mxHost());
            if (g.resultType() == null) {
                ok += g.sessions();
                continue;
            }
            failed += g.sessions();
            // the reason is Postern's words around the remote server's (a handshake's error): clipped like a log line
            details.add(new Report.FailureDetail(g.resultType(), null, g.mxHost(), g.helo(), g.receivingIp(),
                    g.sessions(), null, g.reason() == null ? null : Untrusted.clip(g.reason())));
        }
        List<String> policyString = null, mx = null;
        switch (type) {
            case Report.PolicyType.STS -> {
                Optional<dev.postern.mtasts.Policy> p = texts.sts(domain);
                if (p.isPresent()) {
                    policyString = p.get().text().lines().filter(l -> !l.isBlank()).toList();
                    mx = p.get().mx();
                }
            }
            case Report.PolicyType.TLSA -> {
                TreeSet<String> records = new TreeSet<>();
                for (String h : hosts) records.addAll(texts.tlsa(h));
                if (!records.isEmpty()) policyString = List.copyOf(records);
                mx = List.copyOf(hosts);
            }
            default -> { }
        }
        return new Report.PolicyResult(new Report.Policy(type, policyString, domain, mx),
                new Report.Summary(ok, failed), details);
    }
}
