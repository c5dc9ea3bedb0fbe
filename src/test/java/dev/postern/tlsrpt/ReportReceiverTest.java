package dev.postern.tlsrpt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.postern.audit.TlsRptRecord;
import dev.postern.config.Config;
import dev.postern.testkit.RecordingAudit;
import dev.postern.testkit.TestConfigs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The receiver without a gateway: the address it watches, the Maildir file it reads, what it records, its rate. */
class ReportReceiverTest {
    @TempDir Path dir;
    final RecordingAudit audit = new RecordingAudit();
    final Clock clock = Clock.fixed(Instant.parse("2026-12-03T08:00:00Z"), ZoneOffset.UTC);

    ReportReceiver receiver(String address, long max) {
        Config c = TestConfigs.withRelay(TestConfigs.gateway(dir, "mx.a.example", Set.of("a.example")),
                Set.of("b.example"), Map.of()).withWatch(new Config.Watch(null, null, null,
                new Config.TlsRpt(false, null, null, null, address, max)));
        return new ReportReceiver(() -> c, audit, ReportReceiver.Known.NONE, clock);
    }

    @Test void theReportAddressIsComparedAsDeliveryDoes() {
        try (ReportReceiver r = receiver("TLS-Reports@a.example", 5L << 20)) {
            assertThat(r.isReportAddress("tls-reports@a.example")).isTrue();
            assertThat(r.isReportAddress("\"tls-reports\"@a.example")).isTrue();
            assertThat(r.isReportAddress("tls-reports@b.example")).isFalse();
            assertThat(r.isReportAddress("tls-reports2@a.example")).isFalse();
        }
        try (ReportReceiver r = receiver(null, 5L << 20)) {
            assertThat(r.isReportAddress("tls-reports@a.example")).isFalse();
        }
    }

    @Test void aMessageMovedToCurByAMailClientIsStillRead() throws Exception {
        Path maildir = dir.resolve("mail/a.example/tlsrpt");
        Files.createDirectories(maildir.resolve("new"));
        Files.createDirectories(maildir.resolve("cur"));
        Path delivered = maildir.resolve("new/1700000000.P1Q1.mx");
        Files.write(maildir.resolve("cur/1700000000.P1Q1.mx:2,S"), ReportSamples.mail("r@x.example",
                "tlsrpt@a.example", "a.example", ReportSamples.gzip(ReportSamples.rfcExample("a.example"))));
        try (ReportReceiver r = receiver("tlsrpt@a.example", 5L << 20)) {
            r.readOne(delivered, "mail from <r@x.example>");
        }
        assertThat(audit.of(TlsRptRecord.class)).singleElement().satisfies(t -> {
            assertThat(t.reportId()).isEqualTo("5065427c-23d3-47ca-b6e0-946ea0e8c4be");
            assertThat(t.successful()).isEqualTo(5326);
            assertThat(t.peer()).isEqualTo("mail from <r@x.example>");
        });
    }

    @Test void aBombOrAnOversizedMessageIsOnlyALogLine() throws Exception {
        Path m = dir.resolve("bomb");
        Files.write(m, ReportSamples.mail("r@x.example", "tlsrpt@a.example", "a.example", ReportSamples.bomb(512)));
        Path big = dir.resolve("big");
        Files.write(big, new byte[(int) ((64L << 10) * 3 / 2 + (1 << 20)) + 1]);
        try (ReportReceiver r = receiver("tlsrpt@a.example", 64L << 10)) {
            assertThatThrownBy(() -> r.acceptMessage(Files.readAllBytes(m), "x")).isInstanceOf(ReportException.class)
                    .hasMessage("report inflates to more than 65536 bytes");
            r.readOne(m, "mail");
            r.readOne(big, "mail");
            r.readOne(dir.resolve("gone"), "mail");
        }
        assertThat(audit.all()).isEmpty();
        assertThat(Files.exists(m)).isTrue(); // never touched
    }

    @Test void eachOfOurDomainsIsOneRecordAndDuplicatesAreSeenBeforeTheStoreHasThem() throws Exception {
        String two = ReportSamples.daily("Org", "a.example", Instant.parse("2026-12-01T00:00:00Z"), 10, 2)
                .replaceFirst("\"policy-domain\":\"a.example\"", "\"policy-domain\":\"b.example\"");
        try (ReportReceiver r = receiver(null, 5L << 20)) {
            ReportReceiver.Outcome o = r.accept("application/tlsrpt+json", two.getBytes(), "p");
            assertThat(o.status()).isEqualTo("accepted");
            assertThat(o.domains()).containsExactly("b.example", "a.example");
            assertThat(r.accept("application/tlsrpt+json", two.getBytes(), "p").status()).isEqualTo("duplicate");
        }
        assertThat(audit.of(TlsRptRecord.class)).extracting(TlsRptRecord::policyDomain, TlsRptRecord::successful,
                TlsRptRecord::failed).containsExactly(org.assertj.core.groups.Tuple.tuple("b.example", 10L, 0L),
                org.assertj.core.groups.Tuple.tuple("a.example", 0L, 2L));
        assertThat(audit.of(TlsRptRecord.class).get(1).json()).doesNotContain("b.example");
    }

    @Test void aReportTheStoreHasIsADuplicate() throws Exception {
        Config c = TestConfigs.gateway(dir, "mx.a.example", Set.of("a.example"));
        try (ReportReceiver r = new ReportReceiver(() -> c, audit, (org, id, d) -> org.equals("Company-X"), clock)) {
            assertThat(r.accept("application/tlsrpt+json", ReportSamples.rfcExample("a.example").getBytes(), "p")
                    .status()).isEqualTo("duplicate");
        }
        assertThat(audit.all()).isEmpty();
    }

    @Test void manyFailureDetailsAreTrimmedToWhatTheStoreKeepsWhole() throws Exception {
        StringBuilder details = new StringBuilder();
        for (int i = 0; i < 5000; i++) {
            details.append(i == 0 ? "" : ",").append("{\"result-type\":\"validation-failure\",\"failed-session-count\":")
                    .append(i).append(",\"additional-information\":\"").append("x".repeat(500)).append("\"}");
        }
        String json = ReportSamples.rfcExample("a.example").replaceFirst("(?s)\"failure-details\": \\[.*\\]\\s*}\\s*]",
                "\"failure-details\": [" + details + "]}]");
        Report report = new ReportReader(5L << 20).read(json.getBytes(), clock.instant());
        assertThat(report.policies().getFirst().failureDetails()).hasSize(5000);
        String stored = ReportReceiver.storedJson(report);
        assertThat(stored.length()).isLessThanOrEqualTo(ReportReceiver.STORED_JSON_MAX);
        Report back = new ReportReader(5L << 20).read(stored.getBytes(), clock.instant());
        assertThat(back.policies().getFirst().failureDetails()).hasSizeLessThanOrEqualTo(1000)
                .first().satisfies(f -> assertThat(f.failedSessionCount()).isEqualTo(4999));
        assertThat(back.policies().getFirst().summary()).isEqualTo(report.policies().getFirst().summary());
    }

    @Test void theOpenRouteRateIsPerClientAndInAll() {
        AtomicReference<Instant> now = new AtomicReference<>(Instant.parse("2026-12-03T08:00:00Z"));
        Clock moving = new Clock() {
            @Override public ZoneOffset getZone() { return ZoneOffset.UTC; }
            @Override public Clock withZone(java.time.ZoneId zone) { return this; }
            @Override public Instant instant() { return now.get(); }
        };
        ClientRate rate = new ClientRate(2, 3, Duration.ofHours(1), moving);
        assertThat(rate.take("a")).isZero();
        assertThat(rate.take("a")).isZero();
        assertThat(rate.take("a")).isEqualTo(3600);
        assertThat(rate.take("b")).isZero();
        assertThat(rate.take("c")).isPositive(); // the total
        now.set(now.get().plus(Duration.ofMinutes(60)));
        assertThat(rate.take("a")).isZero();
    }

    @Test void anIpv6ClientIsCountedByItsSlash64() {
        Clock clock = Clock.fixed(java.time.Instant.parse("2026-12-01T00:00:00Z"), java.time.ZoneOffset.UTC);
        ClientRate rate = new ClientRate(2, 1000, Duration.ofHours(1), clock);
        assertThat(rate.take("2001:db8:1:2::1")).isZero();
        assertThat(rate.take("2001:db8:1:2:ffff::9")).isZero();
        // a third address in the same /64 is the same client
        assertThat(rate.take("[2001:db8:1:2:abcd::1]")).isPositive();
        // the next /64 and IPv4 clients are others
        assertThat(rate.take("2001:db8:1:3::1")).isZero();
        assertThat(rate.take("192.0.2.1")).isZero();
        assertThat(ClientRate.key("::ffff:192.0.2.1")).isEqualTo("::ffff:192.0.2.1"); // a mapped IPv4 stays itself
        assertThat(ClientRate.key("not an address")).isEqualTo("not an address");
    }
    /**
     * The open route parses at most {@link ReportRoutes#PARSING} reports at once: a 1 MB gzip inflating to 5 MB of
     * small JSON objects holds about 100 MB while it is read (measured), so a few dozen concurrent POSTs from anyone
     * could fill the gateway's heap; past the bound the answer is 503 with Retry-After, and no rate is spent.
     */
    @Test void theOpenRouteParsesFewReportsAtOnce() throws Exception {
        try (ReportReceiver r = receiver(null, 5L << 20)) {
            ReportRoutes routes = new ReportRoutes(r, null, new ClientRate(1, 1000, Duration.ofHours(1), clock), clock);
            dev.postern.admin.Call call = new dev.postern.admin.Call("POST", "/tlsrpt", "", Map.of(),
                    Map.of("content-type", ReportBytes.GZIP), ReportSamples.gzip(ReportSamples.rfcExample("a.example")),
                    "192.0.2.7", false);
            routes.parsing.acquire(ReportRoutes.PARSING); // as many reports being read as the route allows
            dev.postern.admin.Reply busy = routes.open(call);
            assertThat(busy.status()).isEqualTo(503);
            assertThat(busy.headers()).containsKey("Retry-After");
            routes.parsing.release(ReportRoutes.PARSING);
            // the 503 spent none of the client's one report per hour
            assertThat(routes.open(call).status()).isEqualTo(200);
            assertThat(routes.parsing.availablePermits()).isEqualTo(ReportRoutes.PARSING);
        }
    }
    /** Every report read on the open route is kept in the store: the route reads a bounded number of bytes an hour. */
    @Test void theOpenRouteReadsABoundedNumberOfReportBytesAnHour() throws Exception {
        try (ReportReceiver r = receiver(null, 5L << 20)) {
            ReportRoutes routes = new ReportRoutes(r, null, new ClientRate(20, 1000, Duration.ofHours(1), clock),
                    clock);
            String one = ReportSamples.rfcExample("a.example");
            routes.openBytesPerHour = one.length() * 5L / 2; // two such reports an hour
            java.util.function.IntFunction<dev.postern.admin.Reply> post = i -> {
                try {
                    return routes.open(new dev.postern.admin.Call("POST", "/tlsrpt", "", Map.of(),
                            Map.of("content-type", ReportBytes.GZIP), ReportSamples.gzip(one), "192.0.2." + i, false));
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            };
            assertThat(post.apply(1).status()).isEqualTo(200);
            assertThat(post.apply(2).status()).isEqualTo(200); // a duplicate, read all the same
            dev.postern.admin.Reply third = post.apply(3);
            assertThat(third.status()).isEqualTo(429);
            assertThat(third.headers().get("Retry-After")).isEqualTo("3600");
        }
    }
}
