package dev.postern.tlsrpt;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.postern.audit.Audit;
import dev.postern.audit.RecordCodec;
import dev.postern.audit.TlsRptRecord;
import dev.postern.config.Config;
import dev.postern.local.DeliveryObserver;
import dev.postern.logging.Untrusted;
import dev.postern.recipients.LocalParts;
import dev.postern.tlsrpt.Report.FailureDetail;
import dev.postern.tlsrpt.Report.PolicyResult;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Takes SMTP TLS reports (RFC 8460) that others send about our domains, by mail to {@code [tls_rpt] receive_address}
 * (read from the Maildir after local delivery: the mail is delivered as any other, reading it is in addition) or by
 * HTTP POST; checks them ({@link ReportBytes}, {@link ReportReader}), keeps only the policies of our local and relay
 * domains, and records one {@link TlsRptRecord} (IN) per report and policy domain through the gateway's audit. A
 * report already recorded (same organization, report-id and policy domain) is not recorded again.
 */
public final class ReportReceiver implements DeliveryObserver, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ReportReceiver.class);
    /** The store keeps a report's JSON up to this many characters (JdbcAuditStore.MAX_REPORT_JSON). */
    static final int STORED_JSON_MAX = 1 << 20;
    /** Failure details kept per policy, those with the most failed sessions first; the summary counts are exact. */
    static final int KEPT_FAILURE_DETAILS = 1_000;
    /** Reports read from mail waiting for the reader thread; more are logged and left in the Maildir. */
    static final int MAIL_QUEUE = 64;
    private static final int RECENT = 10_000;

    /** Whether a report is stored already (asked of the audit store). */
    @FunctionalInterface
    public interface Known {
        Known NONE = (organization, reportId, domain) -> false;

        boolean known(String organization, String reportId, String domain) throws Exception;
    }

    /**
     * What became of a report.
     *
     * @param status   "accepted" (at least one policy domain recorded now) or "duplicate" (all recorded before)
     * @param domains  our policy domains it was recorded for (or had been)
     * @param ignored  policy domains in it that are not ours, left out
     */
    public record Outcome(String status, String organization, String reportId, List<String> domains,
                          List<String> ignored) { }

    private final Supplier<Config> config;
    private final Audit audit;
    private final Known known;
    private final Clock clock;
    /** Keys recorded lately, so a report sent twice before the writer stored the first is still seen. */
    private final Map<String, Boolean> recent = new LinkedHashMap<>(16, 0.75f, true) {
        @Override protected boolean removeEldestEntry(Map.Entry<String, Boolean> e) {
            return size() > RECENT;
        }
    };
    private record Delivered(Path file, String peer) { }

    private final BlockingQueue<Delivered> mail = new ArrayBlockingQueue<>(MAIL_QUEUE);
    private final Thread reader;
    private volatile boolean closed;

    public ReportReceiver(Supplier<Config> config, Audit audit, Known known, Clock clock) {
        this.config = config;
        this.audit = audit;
        this.known = known;
        this.clock = clock;
        this.reader = Thread.ofVirtual().name("tlsrpt-mail").start(this::readMail);
        Config c = config.get();
        String address = c.watch().tlsRpt().receiveAddress();
        if (address != null && !c.localDomains().contains(address.substring(address.lastIndexOf('@') + 1))) {
            log.atWarn().addKeyValue("receive_address", address).log("[tls_rpt] receive_address is not in a local "
                    + "domain: mail to it is relayed, not delivered here, so no report is read from it");
        }
    }

    /** The largest report accepted, inflated ({@code [tls_rpt] max_report_size}). */
    public long maxReportSize() {
        return config.get().watch().tlsRpt().maxReportSize();
    }

    /** A report body of media type {@code contentType} (an HTTP POST), from {@code peer} ("http 192.0.2.7"). */
    public Outcome accept(String contentType, byte[] body, String peer) throws ReportException {
        long max = maxReportSize();
        byte[] json = ReportBytes.json(ReportBytes.mediaType(contentType), body, max);
        return record(new ReportReader(max).read(json, clock.instant()), peer);
    }

    /** A whole mail message (RFC 8460 §5.3), from {@code peer}. */
    public Outcome acceptMessage(byte[] message, String peer) throws ReportException {
        MimeReport.Found part = MimeReport.find(message);
        long max = maxReportSize();
        byte[] json = ReportBytes.json(part.mediaType(), part.body(), max);
        return record(new ReportReader(max).read(json, clock.instant()), peer);
    }

    /** Records the report once per policy domain of ours; 422 when none is ours. */
    Outcome record(Report report, String peer) throws ReportException {
        Config c = config.get();
        Map<String, List<PolicyResult>> ours = new LinkedHashMap<>();
        List<String> ignored = new ArrayList<>();
        for (PolicyResult p : report.policies()) {
            String d = p.policy().policyDomain();
            if (c.localDomains().contains(d) || c.relayDomains().contains(d)) {
                ours.computeIfAbsent(d, k -> new ArrayList<>()).add(p);
            } else if (!ignored.contains(d)) {
                ignored.add(d);
            }
        }
        if (ours.isEmpty()) {
            throw ReportException.invalid("policy-domain " + ReportBytes.printable(String.join(", ", ignored))
                    + " is not one of this gateway's domains");
        }
        Instant now = clock.instant();
        boolean any = false;
        for (Map.Entry<String, List<PolicyResult>> e : ours.entrySet()) {
            String domain = e.getKey();
            if (seen(report.organizationName(), report.reportId(), domain)) continue;
            long ok = 0, failed = 0;
            for (PolicyResult p : e.getValue()) {
                ok = saturatedAdd(ok, p.summary().successful());
                failed = saturatedAdd(failed, p.summary().failed());
            }
            audit.record(new TlsRptRecord(now, TlsRptRecord.Direction.IN, report.reportId(), report.organizationName(),
                    domain, report.dateRange().start(), report.dateRange().end(), ok, failed,
                    Untrusted.clip(peer), "accepted", storedJson(report.withPolicies(e.getValue()))));
            any = true;
        }
        Outcome o = new Outcome(any ? "accepted" : "duplicate", report.organizationName(), report.reportId(),
                List.copyOf(ours.keySet()), List.copyOf(ignored));
        log.atInfo().addKeyValue("organization", Untrusted.clip(o.organization()))
                .addKeyValue("report_id", Untrusted.clip(o.reportId())).addKeyValue("domains", String.join(",", o.domains()))
                .addKeyValue("ignored", String.join(",", ignored)).addKeyValue("peer", Untrusted.clip(peer))
                .log(any ? "tls report received" : "tls report received again (duplicate, not stored)");
        return o;
    }

    /** Whether the report was recorded before (here lately, or in the store); marks it recorded. */
    private boolean seen(String org, String reportId, String domain) {
        String key = org + '\0' + reportId + '\0' + domain;
        synchronized (recent) {
            if (recent.containsKey(key)) return true;
        }
        boolean stored;
        try {
            stored = known.known(org, reportId, domain);
        } catch (Exception e) { // the store's key keeps it once anyway
            log.atDebug().addKeyValue("reason", e.toString()).log("tls report: cannot ask the store for duplicates");
            stored = false;
        }
        synchronized (recent) {
            return recent.put(key, Boolean.TRUE) != null || stored;
        }
    }

    private static long saturatedAdd(long a, long b) {
        long r = a + b;
        return ((a ^ r) & (b ^ r)) < 0 ? Long.MAX_VALUE : r;
    }

    /**
     * The report's normalized JSON as stored: at most {@link #KEPT_FAILURE_DETAILS} failure details per policy (the
     * largest counts), fewer while it is still longer than the store keeps, so the stored JSON is always whole.
     */
    static String storedJson(Report report) {
        int keep = KEPT_FAILURE_DETAILS;
        while (true) {
            int k = keep;
            Report trimmed = report.withPolicies(report.policies().stream().map(p -> new PolicyResult(
                    p.policy(), p.summary(), largest(p.failureDetails(), k))).toList());
            String json;
            try {
                json = RecordCodec.mapper().writeValueAsString(trimmed);
            } catch (JsonProcessingException e) {
                throw new IllegalStateException("cannot write a report as JSON", e);
            }
            if (json.length() <= STORED_JSON_MAX || keep == 0) return json;
            keep /= 2;
        }
    }

    /** The {@code k} details with the largest counts; null (left out) when none is kept. */
    private static List<FailureDetail> largest(List<FailureDetail> details, int k) {
        if (details == null || k == 0) return null;
        if (details.size() <= k) return details;
        return details.stream().sorted(Comparator.comparingLong(FailureDetail::failedSessionCount).reversed())
                .limit(k).toList();
    }

    // ---- mail: the delivery observer and the reader thread

    /** Whether {@code recipient} is {@code [tls_rpt] receive_address} (local part compared as delivery does). */
    boolean isReportAddress(String recipient) {
        String address = config.get().watch().tlsRpt().receiveAddress();
        if (address == null || recipient == null) return false;
        int a = address.lastIndexOf('@'), r = recipient.lastIndexOf('@');
        if (a < 0 || r < 0) return false;
        return address.substring(a + 1).equals(recipient.substring(r + 1))
                && LocalParts.key(address.substring(0, a)).equals(LocalParts.key(recipient.substring(0, r)));
    }

    @Override public void delivered(String recipient, String sender, String client, Path file) {
        if (closed || !isReportAddress(recipient)) return;
        String peer = "mail from <" + sender + "> via " + client;
        if (!mail.offer(new Delivered(file, peer))) {
            log.atWarn().addKeyValue("file", file.toString()).addKeyValue("peer", Untrusted.clip(peer))
                    .log("tls report not read: too many waiting (the mail is in the Maildir)");
        }
    }

    private void readMail() {
        while (!closed) {
            Delivered d;
            try {
                d = mail.take();
            } catch (InterruptedException e) {
                return;
            }
            try {
                readOne(d.file, d.peer);
            } catch (RuntimeException e) {
                log.atWarn().addKeyValue("file", d.file.toString()).addKeyValue("reason", e.toString())
                        .log("tls report not read");
            }
        }
    }

    /** Reads one delivered message; whatever is wrong with it is a log line, the mail stays where it is. */
    void readOne(Path file, String peer) {
        long cap = maxReportSize() * 3 / 2 + (1 << 20); // base64 of a report of the largest size, and headers
        byte[] message;
        try {
            message = readBounded(locate(file), cap);
        } catch (IOException e) {
            log.atWarn().addKeyValue("file", file.toString()).addKeyValue("reason", e.getMessage())
                    .log("tls report not read: cannot read the delivered message");
            return;
        }
        if (message == null) {
            refused(file, peer, "message larger than " + cap + " bytes");
            return;
        }
        try {
            acceptMessage(message, peer);
        } catch (ReportException e) {
            refused(file, peer, e.getMessage());
        }
    }

    private static void refused(Path file, String peer, String reason) {
        log.atWarn().addKeyValue("file", file.toString()).addKeyValue("peer", Untrusted.clip(peer))
                .addKeyValue("reason", Untrusted.clip(reason)).log("tls report refused (the mail is delivered)");
    }

    /** The delivered file, or where a mail client moved it ({@code cur/NAME:2,FLAGS}). */
    static Path locate(Path file) throws IOException {
        if (Files.exists(file)) return file;
        Path cur = file.getParent().resolveSibling("cur");
        String name = file.getFileName().toString();
        if (Files.isDirectory(cur)) {
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(cur, p ->
                    p.getFileName().toString().startsWith(name + ":"))) {
                for (Path p : ds) return p;
            }
        }
        throw new NoSuchFileException(file.toString(), null, "moved or removed before it was read");
    }

    /** The file's bytes, or null when it holds more than {@code cap}. */
    private static byte[] readBounded(Path file, long cap) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            byte[] b = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 16, cap + 1));
            return b.length > cap ? null : b;
        }
    }

    @Override public void close() {
        closed = true;
        reader.interrupt();
    }
}
