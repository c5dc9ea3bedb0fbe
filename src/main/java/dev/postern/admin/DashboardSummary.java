package dev.postern.admin;

import dev.postern.audit.PartnerCertificate;
import dev.postern.audit.PolicyEvent;
import dev.postern.audit.TlsReport;
import dev.postern.config.Config;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What {@code GET /api/dashboard} answers: the enforced partners with their figures and certificate, failing first,
 * and the recent policy failures and downgrades. Each figure is the store's: a partner's attempts, delivered, failed
 * and would-fail are its line in {@code postern report tls --direction out --since SINCE} ("enforced links"), its
 * certificate the one {@code postern certs seen} lists under the same sha256.
 *
 * @param now      when it was made
 * @param since    the window's start (the report's {@code since})
 * @param partners every domain with an enforcing or testing policy in the configuration, and every domain the report
 *                 lists as enforced; failing ones (failed &gt; 0) first, then the soonest certificate expiry, then name
 * @param events   policy failures and downgrades in the window, newest first, at most {@link #EVENTS}
 */
public record DashboardSummary(Instant now, Instant since, List<Partner> partners, List<PolicyEvent> events) {
    /** The most events listed. */
    public static final int EVENTS = 50;

    public DashboardSummary {
        partners = List.copyOf(partners);
        events = List.copyOf(events);
    }

    /**
     * One enforced partner.
     *
     * @param policy           the configured level ("verify"; "testing verify" in testing mode), null when the
     *                         configuration has no entry of its own (enforced by MTA-STS, DANE or the memory)
     * @param policyKey        the configuration key that matched ("partner.example", ".partner.example"), or null
     * @param certificate      the certificate its next hop presented last, null when none was recorded
     * @param certificateDays  whole days from {@code now} to the certificate's notAfter (negative: expired), or null
     */
    public record Partner(String domain, String policy, String policyKey, long attempts, long delivered, long failed,
                          long wouldFail, PartnerCertificate certificate, Long certificateDays) {
        public boolean failing() {
            return failed > 0;
        }
    }

    /** A source of partner certificates (the store). */
    @FunctionalInterface
    public interface Certificates {
        PartnerCertificate of(String domain) throws Exception;
    }

    /**
     * The summary from the outbound part of a report, the configured policies, and the store's certificates and
     * events.
     */
    static DashboardSummary of(Instant now, TlsReport report, Config.OutboundTls policies, Certificates certificates,
                               List<PolicyEvent> events) throws Exception {
        Map<String, TlsReport.Enforced> figures = new TreeMap<>();
        for (TlsReport.Part p : report.directions()) for (TlsReport.Enforced e : p.enforced()) figures.put(e.domain(), e);
        Map<String, String[]> configured = new TreeMap<>();
        policies.domains().forEach((key, p) -> {
            if (p.level().requiresTls() || p.mode() == Config.PolicyMode.TESTING) {
                configured.put(key, new String[] {key, policyWord(p)});
            }
        });
        for (String d : figures.keySet()) {
            if (configured.containsKey(d)) continue;
            configured.put(d, policies.entryFor(d).map(e -> new String[] {e.getKey(), policyWord(e.getValue())})
                    .orElse(new String[] {null, null}));
        }
        List<Partner> partners = new ArrayList<>();
        for (var entry : configured.entrySet()) {
            String d = entry.getKey();
            TlsReport.Enforced f = figures.getOrDefault(d, new TlsReport.Enforced(d, 0, 0, 0, 0));
            PartnerCertificate c = d.startsWith(".") ? null : certificates.of(d);
            Long days = c == null || c.notAfter() == null ? null
                    : Math.floorDiv(Duration.between(now, c.notAfter()).toSeconds(), 86_400L);
            partners.add(new Partner(d, entry.getValue()[1], entry.getValue()[0], f.attempts(), f.delivered(),
                    f.failed(), f.wouldFail(), c, days));
        }
        partners.sort(Comparator.comparing((Partner p) -> !p.failing())
                .thenComparingLong(p -> -p.failed())
                .thenComparing(p -> p.certificateDays() == null ? Long.MAX_VALUE : p.certificateDays())
                .thenComparing(Partner::domain));
        return new DashboardSummary(now, report.since(), partners, events);
    }

    private static String policyWord(Config.TlsPolicy p) {
        return (p.mode() == Config.PolicyMode.TESTING ? "testing " : "") + p.level().word();
    }
}
