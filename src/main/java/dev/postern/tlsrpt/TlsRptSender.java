package dev.postern.tlsrpt;

import dev.postern.audit.Audit;
import dev.postern.audit.AuditStore.AuditStoreException;
import dev.postern.audit.TlsRptGroup;
import dev.postern.audit.TlsRptRecord;
import dev.postern.dns.DnsException;
import dev.postern.dns.DnsResolver;
import dev.postern.logging.Untrusted;
import java.io.Closeable;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Collectors;

/**
 * Makes and sends the SMTP TLS reports (RFC 8460) of one UTC day: for every recipient domain this gateway attempted
 * delivery to that day and whose {@code _smtp._tls} TXT record asks for reports, one report ({@link Aggregate}) to
 * each {@code rua}: {@code mailto:} as mail through the queue ({@link Mail}), {@code https:} as a POST. Once a day
 * after 00:00 UTC plus a random delay of up to an hour (RFC 8460 §4.1), for the day before ({@link #start}); on
 * demand through {@link #run} ({@code postern tlsrpt send}). Each report's progress is kept in {@link SentMarkers}
 * so that no report is ever sent twice, across runs and restarts; each settled report is one {@link TlsRptRecord}.
 */
public final class TlsRptSender implements Closeable {
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(TlsRptSender.class);
    /** An https target that keeps failing is given up this long after the report was made (RFC 8460 §5.4). */
    static final Duration RETRY_FOR = Duration.ofDays(1);
    private static final Duration FIRST_RETRY = Duration.ofMinutes(10);
    private static final Duration MAX_RETRY_GAP = Duration.ofHours(2);
    private static final Duration HTTP_TIMEOUT = Duration.ofSeconds(60);
    /** The most rua URIs of one record a report goes to (the first ones). */
    static final int MAX_TARGETS = 5;
    /** How often the daily thread looks for due work (retries, yesterday's run after a restart). */
    private static final Duration TICK = Duration.ofMinutes(5);

    /** The audit store's side: the day's grouped sessions ({@code JdbcAuditStore#tlsRptGroups}). */
    @FunctionalInterface
    public interface Source {
        List<TlsRptGroup> groups(Instant start, Instant end) throws AuditStoreException;
    }

    /** Queues a message of Postern's own: {@code Scheduler.submit}. Returns the queue id. */
    @FunctionalInterface
    public interface Mail {
        String submit(String sender, List<String> recipients, byte[] content, String messageId, String origin)
                throws IOException;
    }

    /**
     * What the sender needs of {@code [tls_rpt]} and the gateway.
     *
     * @param send         {@code [tls_rpt] send}: the daily run, and non-dry runs on demand
     * @param submitter    this gateway's host name: the report's submitter and file name's sender
     * @param organization {@code organization-name}
     * @param contact      {@code contact-info}
     * @param from         the envelope and header sender of mailed reports
     * @param privateHttps whether an https rua may name a loopback, private or link-local address (tests); false in
     *                     the gateway, so that a domain's record cannot make it POST into the gateway's own network
     */
    public record Settings(boolean send, String submitter, String organization, String contact, String from,
                           boolean privateHttps) {
        /** From {@code [tls_rpt]} with its defaults: organization the host name, contact and from postmaster@host. */
        public static Settings of(dev.postern.config.Config.TlsRpt c, String hostname) {
            String postmaster = "postmaster@" + hostname;
            return new Settings(c.send(), hostname, c.organization() == null ? hostname : c.organization(),
                    c.contact() == null ? postmaster : c.contact(), c.from() == null ? postmaster : c.from(), false);
        }
    }

    /**
     * What a run did with one domain's report.
     *
     * @param domain   the policy domain
     * @param reportId null when no report was made
     * @param json     the report's JSON (null when none was made)
     * @param targets  "URI: STATE (detail)" per rua target
     * @param note     why nothing was sent ("no _smtp._tls record", "already made on ...") or null
     */
    public record Outcome(String domain, String reportId, String json, List<String> targets, String note) {
        public Outcome {
            targets = List.copyOf(targets);
        }
    }

    private final Settings settings;
    private final Source source;
    private final DnsResolver dns;
    private final Aggregate.PolicyTexts texts;
    private final Mail mail;
    private final Audit audit;
    private final HttpClient http;
    private final Clock clock;
    private final SentMarkers markers;
    private volatile boolean closed;
    private Thread daily;

    /**
     * @param dataDir the gateway's data directory: markers in {@code data/tlsrpt/sent}
     * @param http    the client for https targets (its SSL context checks certificates: the JDK's trust store in
     *                the gateway, a test's in tests)
     */
    public TlsRptSender(Path dataDir, Settings settings, Source source, DnsResolver dns, Aggregate.PolicyTexts texts,
                        Mail mail, Audit audit, HttpClient http, Clock clock) {
        this.settings = settings;
        this.source = source;
        this.dns = dns;
        this.texts = texts;
        this.mail = mail;
        this.audit = audit;
        this.http = http;
        this.clock = clock;
        this.markers = new SentMarkers(dataDir.resolve("tlsrpt").resolve("sent"));
    }

    /** The gateway's https client: certificates checked against the JDK's store, no redirects, 30 s to connect. */
    public static HttpClient httpClient() {
        return HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(30))
                .followRedirects(HttpClient.Redirect.NEVER).build();
    }

    /** The UTC day before {@code now}'s. */
    public static LocalDate yesterday(Instant now) {
        return now.atOffset(ZoneOffset.UTC).toLocalDate().minusDays(1);
    }

    /**
     * Makes {@code day}'s reports and sends those not made before. A domain whose report has a marker is not made
     * again (its due retries are tried). With {@code dryRun} nothing is written or sent: the reports are made and
     * returned with the targets they would go to.
     *
     * @return one outcome per domain delivered to that day, sorted by domain
     * @throws AuditStoreException the store could not be read (nothing was sent)
     */
    public synchronized List<Outcome> run(LocalDate day, boolean dryRun) throws AuditStoreException, IOException {
        Report.DateRange range = Aggregate.range(day);
        Instant end = range.start().plus(Duration.ofDays(1));
        List<TlsRptGroup> groups = source.groups(range.start(), end);
        Map<String, Report> reports = Aggregate.reports(day, groups, new Aggregate.Maker(settings.organization(),
                settings.contact(), settings.submitter()), texts);
        List<Outcome> out = new ArrayList<>();
        boolean complete = true;
        for (Map.Entry<String, Report> e : reports.entrySet()) {
            String domain = e.getKey();
            if (!safeName(domain)) continue; // lookup form from our own records; anything else is not a file name
            SentMarkers.Marker known = dryRun ? null : markers.load(day, domain);
            if (known != null) {
                known = advance(known);
                out.add(new Outcome(domain, known.reportId(), null, describe(known), "made before, on "
                        + known.created()));
                continue;
            }
            Optional<RuaRecord> rua;
            try {
                rua = RuaRecord.pick(dns.lookupTxt(RuaRecord.name(domain)));
            } catch (DnsException ex) {
                complete &= !ex.temporary(); // a temporary failure: the next tick tries again
                out.add(new Outcome(domain, null, null, List.of(), "TXT " + RuaRecord.name(domain) + ": "
                        + ex.getMessage()));
                continue;
            }
            byte[] json = ReportMessage.json(e.getValue());
            if (rua.isEmpty()) {
                out.add(new Outcome(domain, null, dryRun ? new String(json, StandardCharsets.UTF_8) : null, List.of(),
                        "no valid _smtp._tls record with a mailto: or https: rua"));
                continue;
            }
            // a record may list many URIs: a few are served, so a domain cannot turn us into a mail cannon
            List<SentMarkers.Target> targets = rua.get().rua().stream().limit(MAX_TARGETS).map(t -> new SentMarkers.Target(t.uri(),
                    SentMarkers.State.PENDING, null, 0, null)).toList();
            SentMarkers.Marker m = new SentMarkers.Marker(e.getValue().reportId(), domain, day.toString(),
                    clock.instant(), targets, false);
            if (dryRun) {
                out.add(new Outcome(domain, m.reportId(), new String(json, StandardCharsets.UTF_8), describe(m),
                        "dry run: nothing sent"));
                continue;
            }
            markers.create(m, ReportMessage.gzip(json));
            m = advance(m);
            out.add(new Outcome(domain, m.reportId(), new String(json, StandardCharsets.UTF_8), describe(m), null));
        }
        if (!dryRun && complete && !markers.done(day)) markers.markDone(day);
        return out;
    }

    /** Tries the due targets of {@code day}'s markers again (https retries; interrupted sends are settled). */
    public synchronized void retry(LocalDate day) throws IOException {
        for (SentMarkers.Marker m : markers.all(day)) {
            if (!m.settled() || !m.recorded()) advance(m);
        }
    }

    /** Steps every target that is due, writing the marker around each send, and records the report once settled. */
    private SentMarkers.Marker advance(SentMarkers.Marker m) throws IOException {
        Instant now = clock.instant();
        for (int i = 0; i < m.targets().size(); i++) {
            SentMarkers.Target t = m.targets().get(i);
            switch (t.state()) {
                case SUBMITTING, POSTING -> {
                    // a stop between the write before the send and the one after it: whether it left is not known
                    m = m.with(i, t.with(SentMarkers.State.UNKNOWN, "interrupted while " + t.state().name()
                            .toLowerCase(java.util.Locale.ROOT) + "; not sent again (never twice)", t.attempts(), null));
                    markers.save(m);
                }
                case PENDING -> m = send(m, i, now);
                case RETRY -> {
                    if (t.next() == null || !now.isBefore(t.next())) m = send(m, i, now);
                }
                default -> { }
            }
        }
        if (m.settled() && !m.recorded()) {
            record(m);
            m = m.asRecorded();
            markers.save(m);
        }
        return m;
    }

    private SentMarkers.Marker send(SentMarkers.Marker m, int i, Instant now) throws IOException {
        SentMarkers.Target t = m.targets().get(i);
        RuaRecord.Target target = RuaRecord.target(t.uri());
        LocalDate day = LocalDate.parse(m.day());
        byte[] gzip = markers.report(day, m.domain());
        int attempts = t.attempts() + 1;
        switch (target) {
            case RuaRecord.Mailto to -> {
                m = m.with(i, t.with(SentMarkers.State.SUBMITTING, null, attempts, null));
                markers.save(m); // before the queue has it: a stop from here on never sends it again
                String messageId = (i == 0 ? "" : i + ".") + m.reportId();
                try {
                    Report r = dev.postern.audit.RecordCodec.mapper().readValue(ReportMessage.gunzip(gzip),
                            Report.class);
                    byte[] content = ReportMessage.mail(r, gzip, settings.from(), to.address(), settings.submitter(),
                            messageId, now);
                    String id = mail.submit(settings.from(), List.of(to.address()), content, messageId,
                            "tls-rpt report");
                    m = m.with(i, t.with(SentMarkers.State.QUEUED, "queue id " + id, attempts, null));
                    log.atInfo().addKeyValue("domain", m.domain()).addKeyValue("to", to.address())
                            .addKeyValue("id", id).addKeyValue("report_id", m.reportId()).log("tls report queued");
                } catch (IOException e) {
                    // the spool refused it (a full disk): nothing was queued, so a retry cannot send it twice
                    m = m.with(i, retryOrFail(t, attempts, m.created(), now, "queue: " + e.getMessage()));
                }
            }
            case RuaRecord.Https post -> {
                m = m.with(i, t.with(SentMarkers.State.POSTING, null, attempts, null));
                markers.save(m);
                m = m.with(i, post(post, gzip, m, t, attempts, now));
            }
            case null -> m = m.with(i, t.with(SentMarkers.State.FAILED, "not a usable rua URI", attempts, null));
        }
        markers.save(m);
        return m;
    }

    private SentMarkers.Target post(RuaRecord.Https post, byte[] gzip, SentMarkers.Marker m, SentMarkers.Target t,
                                    int attempts, Instant now) {
        String why;
        try {
            String refused = settings.privateHttps() ? null : privateAddress(post.url().getHost());
            if (refused != null) {
                log.atWarn().addKeyValue("domain", m.domain()).addKeyValue("url", post.uri())
                        .addKeyValue("reason", refused).log("tls report not posted");
                return t.with(SentMarkers.State.FAILED, refused, attempts, null);
            }
            HttpResponse<Void> r = http.send(HttpRequest.newBuilder(post.url()).timeout(HTTP_TIMEOUT)
                    .header("Content-Type", ReportMessage.GZIP_TYPE)
                    .POST(HttpRequest.BodyPublishers.ofByteArray(gzip)).build(), HttpResponse.BodyHandlers.discarding());
            if (r.statusCode() / 100 == 2) {
                log.atInfo().addKeyValue("domain", m.domain()).addKeyValue("url", post.uri())
                        .addKeyValue("status", r.statusCode()).addKeyValue("report_id", m.reportId())
                        .log("tls report posted");
                return t.with(SentMarkers.State.SENT, "HTTP " + r.statusCode(), attempts, null);
            }
            why = "HTTP " + r.statusCode();
        } catch (java.net.http.HttpTimeoutException e) {
            if (!(e instanceof java.net.http.HttpConnectTimeoutException)) {
                // the body may have reached the receiver before its answer was late: never posted again
                return unknown(m, t, post, attempts, "no answer within " + HTTP_TIMEOUT.toSeconds() + " s");
            }
            why = Untrusted.clip(e.toString());
        } catch (IOException e) {
            why = Untrusted.clip(e.toString());
        } catch (InterruptedException e) {
            // a stop during the request: whether it arrived cannot be told, so it is not posted again
            Thread.currentThread().interrupt();
            return unknown(m, t, post, attempts, "interrupted while posting");
        }
        log.atWarn().addKeyValue("domain", m.domain()).addKeyValue("url", post.uri()).addKeyValue("reason", why)
                .log("tls report not posted");
        return retryOrFail(t, attempts, m.created(), now, why);
    }

    /** A POST whose fate cannot be told: settled as UNKNOWN, so it is never sent twice (at most once). */
    private SentMarkers.Target unknown(SentMarkers.Marker m, SentMarkers.Target t, RuaRecord.Https post,
                                       int attempts, String why) {
        log.atWarn().addKeyValue("domain", m.domain()).addKeyValue("url", post.uri()).addKeyValue("reason", why)
                .log("tls report may or may not have been posted; not posted again");
        return t.with(SentMarkers.State.UNKNOWN, why, attempts, null);
    }

    /**
     * Why {@code host} must not be POSTed to, or null: it is, or resolves to, a loopback, private, link-local or
     * unspecified address (a report URL in someone's DNS must not reach into this gateway's network). The JDK
     * client resolves the name again when it connects; this check is against the plain case, not DNS rebinding.
     */
    static String privateAddress(String host) throws java.net.UnknownHostException {
        for (java.net.InetAddress a : java.net.InetAddress.getAllByName(host)) {
            if (inside(a)) return "refused: " + host + " is a local or private address (" + a.getHostAddress() + ")";
        }
        return null;
    }

    /**
     * Whether {@code a} is not an internet address: local, private, shared (100.64/10, carrier NAT and Tailscale),
     * benchmarking, reserved, or an IPv6 form (NAT64, 6to4, IPv4-compatible) of one of those.
     */
    private static boolean inside(java.net.InetAddress a) {
        byte[] b = a.getAddress();
        if (a.isLoopbackAddress() || a.isSiteLocalAddress() || a.isLinkLocalAddress() || a.isAnyLocalAddress()
                || a.isMulticastAddress()) {
            return true;
        }
        if (b.length == 4) {
            int o0 = b[0] & 0xff, o1 = b[1] & 0xff;
            return o0 == 0 || o0 >= 240 || o0 == 100 && (o1 & 0xc0) == 64 || o0 == 198 && (o1 & 0xfe) == 18;
        }
        if ((b[0] & 0xfe) == 0xfc) return true; // unique local fc00::/7
        // the IPv4 address inside NAT64 (64:ff9b::/96), 6to4 (2002::/16) and IPv4-compatible (::/96) forms
        byte[] v4 = null;
        if (prefix(b, new byte[] {0, 0x64, (byte) 0xff, (byte) 0x9b, 0, 0, 0, 0, 0, 0, 0, 0})
                || prefix(b, new byte[12])) {
            v4 = java.util.Arrays.copyOfRange(b, 12, 16);
        } else if (b[0] == 0x20 && b[1] == 0x02) {
            v4 = java.util.Arrays.copyOfRange(b, 2, 6);
        }
        if (v4 == null) return false;
        try {
            return inside(java.net.InetAddress.getByAddress(v4));
        } catch (java.net.UnknownHostException e) {
            return true; // cannot happen: four bytes
        }
    }

    private static boolean prefix(byte[] address, byte[] prefix) {
        return java.util.Arrays.equals(address, 0, prefix.length, prefix, 0, prefix.length);
    }

    /** Another try later (gaps doubling from 10 minutes to 2 hours) while the report is under a day old. */
    private static SentMarkers.Target retryOrFail(SentMarkers.Target t, int attempts, Instant created, Instant now,
                                                  String why) {
        Duration gap = FIRST_RETRY.multipliedBy(1L << Math.min(attempts - 1, 10));
        if (gap.compareTo(MAX_RETRY_GAP) > 0) gap = MAX_RETRY_GAP;
        Instant next = now.plus(gap);
        if (next.isAfter(created.plus(RETRY_FOR))) {
            return t.with(SentMarkers.State.FAILED, why + " (gave up after " + attempts + " attempts)", attempts, null);
        }
        return t.with(SentMarkers.State.RETRY, why, attempts, next);
    }

    /** The one audit record of a settled report, with each target's outcome. */
    private void record(SentMarkers.Marker m) {
        try {
            byte[] json = ReportMessage.gunzip(markers.report(LocalDate.parse(m.day()), m.domain()));
            Report r = dev.postern.audit.RecordCodec.mapper().readValue(json, Report.class);
            long ok = r.policies().stream().mapToLong(p -> p.summary().successful()).sum();
            long failed = r.policies().stream().mapToLong(p -> p.summary().failed()).sum();
            String peer = m.targets().stream().map(SentMarkers.Target::uri).collect(Collectors.joining(", "));
            String outcome = m.targets().stream().map(TlsRptSender::word).distinct().count() == 1
                    ? word(m.targets().getFirst())
                    : m.targets().stream().map(t -> t.uri() + ": " + word(t)).collect(Collectors.joining("; "));
            audit.record(new TlsRptRecord(clock.instant(), TlsRptRecord.Direction.OUT, m.reportId(),
                    r.organizationName(), m.domain(), r.dateRange().start(), r.dateRange().end(), ok, failed, peer,
                    outcome, new String(json, StandardCharsets.UTF_8)));
        } catch (IOException | RuntimeException e) {
            log.atWarn().addKeyValue("report_id", m.reportId()).addKeyValue("reason", e.toString())
                    .log("tls report not recorded");
        }
    }

    /** "queued", "sent", "failed: WHY" (an interrupted send is "failed: interrupted ..."). */
    private static String word(SentMarkers.Target t) {
        return switch (t.state()) {
            case QUEUED -> "queued";
            case SENT -> "sent";
            default -> "failed: " + t.detail();
        };
    }

    private static List<String> describe(SentMarkers.Marker m) {
        return m.targets().stream().map(t -> t.uri() + ": " + t.state().name().toLowerCase(java.util.Locale.ROOT)
                + (t.detail() == null ? "" : " (" + t.detail() + ")")
                + (t.next() == null ? "" : ", next try " + t.next())).toList();
    }

    /** A domain in lookup form is a safe file name (letters, digits, hyphens, dots; no leading dot). */
    static boolean safeName(String domain) {
        return domain != null && !domain.isEmpty() && domain.charAt(0) != '.' && domain.length() <= 253
                && domain.chars().allMatch(c -> c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.'
                || c == '_');
    }

    /**
     * Starts the daily thread: after 00:00 UTC plus a random delay of up to an hour (chosen at start), the day
     * before's reports when that day's run has not finished; every few minutes the due retries of the last two days.
     */
    public void start() {
        long delaySeconds = ThreadLocalRandom.current().nextLong(3600);
        daily = Thread.ofVirtual().name("tlsrpt-daily").start(() -> loop(Duration.ofSeconds(delaySeconds)));
        log.atInfo().addKeyValue("delay_s", delaySeconds).log("tls reports: daily after 00:00 UTC plus the delay");
    }

    private void loop(Duration delay) {
        while (!closed) {
            Instant now = clock.instant();
            LocalDate yesterday = yesterday(now);
            try {
                retry(yesterday.minusDays(1));
                retry(yesterday);
                Instant due = now.atOffset(ZoneOffset.UTC).toLocalDate().atStartOfDay(ZoneOffset.UTC).toInstant()
                        .plus(delay);
                if (!now.isBefore(due) && !markers.done(yesterday)) {
                    List<Outcome> done = run(yesterday, false);
                    log.atInfo().addKeyValue("day", yesterday).addKeyValue("domains", done.size())
                            .log("tls reports made");
                }
            } catch (AuditStoreException | IOException | RuntimeException e) {
                log.atWarn().addKeyValue("reason", e.getMessage()).log("tls reports: run failed, tried again later");
            }
            try {
                Thread.sleep(TICK);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    @Override public void close() {
        closed = true;
        if (daily != null) daily.interrupt();
    }
}
