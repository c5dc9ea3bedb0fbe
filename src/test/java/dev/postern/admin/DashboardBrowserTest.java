package dev.postern.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.awaitility.Awaitility.await;

import dev.postern.audit.DeliveryRecord;
import dev.postern.audit.JdbcAuditStore;
import dev.postern.audit.MessageTrace;
import dev.postern.audit.TlsReport;
import dev.postern.audit.TlsSessionRecord.Direction;
import dev.postern.cli.AuditDatabase;
import dev.postern.cli.Gateway;
import dev.postern.config.Config;
import dev.postern.config.Config.TlsLevel;
import dev.postern.config.Config.TlsPolicy;
import dev.postern.testkit.ScriptedSmtpServer;
import dev.postern.testkit.SmtpTestClient;
import dev.postern.testkit.TestConfigs;
import dev.postern.tls.Certificates;
import java.io.File;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.Alert;
import org.openqa.selenium.By;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The dashboard in a real browser (Debian's headless Chromium through its chromedriver) against a gateway that moved
 * real mail in this test: one message in over STARTTLS and two in clear text; out to a next hop with STARTTLS
 * (open.example, "encrypt": encrypted, its certificate shown), and to one without it for plain.example ("may": delivered in clear text, a
 * downgrade) and bank.example ("encrypt": deferred 4.7.x). The figures on the page must be the store's; an override
 * set through the page must let the deferred message go (in clear text, after a flush); ending it and a trace search
 * work from the page too. The screenshot is target/dashboard.png.
 */
class DashboardBrowserTest {
    static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");

    @TempDir Path data;

    static void needBrowser() {
        if (Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER)) return;
        if ("1".equals(System.getenv("POSTERN_SKIP_BROWSER"))) {
            Assumptions.abort("no " + CHROMIUM + " or " + CHROMEDRIVER + ", and POSTERN_SKIP_BROWSER=1");
        }
        fail("DashboardBrowserTest needs Debian's chromium and chromium-driver (" + CHROMIUM + ", " + CHROMEDRIVER
                + "): apt-get install chromium chromium-driver (.ci/run does), or set POSTERN_SKIP_BROWSER=1");
    }

    static WebDriver browser() {
        // The driver and browser Debian installed; Selenium Manager is never asked to fetch anything.
        System.setProperty("webdriver.chrome.driver", CHROMEDRIVER.toString());
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(CHROMEDRIVER.toFile()).usingAnyFreePort().build();
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1400,2400", "--no-first-run", "--disable-extensions", "--disable-background-networking");
        return new ChromeDriver(service, options);
    }

    Config gateway(ScriptedSmtpServer tlsPeer, ScriptedSmtpServer plainPeer) {
        Config c = TestConfigs.gateway(data, "gw.a.example", Set.of("a.example"));
        c = TestConfigs.withRelay(c, Set.of("open.example", "plain.example", "bank.example"), Map.of(
                "open.example", new Config.Route("127.0.0.1", tlsPeer.port(), false),
                "plain.example", new Config.Route("127.0.0.1", plainPeer.port(), false),
                "bank.example", new Config.Route("127.0.0.1", plainPeer.port(), false)));
        // retries far apart: the deferred message waits for the flush after the override
        c = TestConfigs.withQueue(c, new Config.Queue(Duration.ofMinutes(30), Duration.ofHours(1), Duration.ofDays(5),
                null));
        c = c.withOutboundTls(new Config.OutboundTls(TlsPolicy.of(TlsLevel.MAY),
                Map.of("bank.example", TlsPolicy.of(TlsLevel.ENCRYPT), "open.example", TlsPolicy.of(TlsLevel.ENCRYPT))));
        return c.withWatch(new Config.Watch(new Config.Admin(new InetSocketAddress("127.0.0.1", 0), false), null,
                null, null));
    }

    static String submit(Gateway gw, boolean tls, String rcpt, String subject) throws Exception {
        try (SmtpTestClient c = SmtpTestClient.connect(gw.boundAddresses().getFirst())) {
            assertThat(c.read().code()).isEqualTo(220);
            assertThat(c.command("EHLO client.test").code()).isEqualTo(250);
            if (tls) {
                c.startTls();
                assertThat(c.command("EHLO client.test").code()).isEqualTo(250);
            }
            assertThat(c.command("MAIL FROM:<alice@a.example>").code()).isEqualTo(250);
            assertThat(c.command("RCPT TO:<" + rcpt + ">").code()).isEqualTo(250);
            assertThat(c.command("DATA").code()).isEqualTo(354);
            c.send("From: alice@a.example\r\nTo: " + rcpt + "\r\nSubject: " + subject + "\r\nMessage-ID: <"
                    + subject + "@a.example>\r\n\r\nHello\r\n.\r\n");
            SmtpTestClient.Response done = c.read();
            assertThat(done.code()).isEqualTo(250);
            c.command("QUIT");
            return done.last().substring(done.last().lastIndexOf(' ') + 1);
        }
    }

    static String text(WebDriver b, String id) {
        return b.findElement(By.id(id)).getText().strip();
    }

    static void acceptConfirm(WebDriver b) {
        Alert a = new WebDriverWait(b, Duration.ofSeconds(5)).until(ExpectedConditions.alertIsPresent());
        a.accept();
    }

    /** Waits for the page's next complete refresh after {@code before}. */
    static void awaitRefresh(WebDriver b, String before) {
        new WebDriverWait(b, Duration.ofSeconds(15)).until(d -> {
            String now = d.findElement(By.tagName("body")).getAttribute("data-loaded");
            return now != null && !now.equals(before);
        });
    }

    static String loaded(WebDriver b) {
        return b.findElement(By.tagName("body")).getAttribute("data-loaded");
    }

    @Test void theDashboardShowsTheStoresFiguresAndAnOverrideFromItChangesDelivery() throws Exception {
        needBrowser();
        var rsa = Certificates.selfSigned(List.of("mx.open.example"), Certificates.KeyType.EC_P256,
                Duration.ofDays(30));
        try (ScriptedSmtpServer tlsPeer = ScriptedSmtpServer.create().pipelining().starttls(rsa).start();
             ScriptedSmtpServer plainPeer = ScriptedSmtpServer.create().pipelining().start()) {
            Config config = gateway(tlsPeer, plainPeer);
            try (Gateway gw = Gateway.start(config); JdbcAuditStore store = AuditDatabase.open(config)) {
                String token = AdminToken.loadOrCreate(data).value();
                submit(gw, true, "carol@open.example", "m-open");
                submit(gw, false, "dave@plain.example", "m-plain");
                String bankId = submit(gw, false, "erin@bank.example", "m-bank");
                // the records are in the store: two deliveries, the bank's deferral, three messages in
                await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(100)).until(() -> {
                    TlsReport r = store.report(Instant.now().minus(Duration.ofHours(1)), null, null);
                    return part(r, Direction.OUT).messages().total() == 2 && part(r, Direction.IN).messages().total() == 3
                            && !store.policyEvents(Instant.now().minus(Duration.ofHours(1)), 10).isEmpty();
                });
                assertThat(gw.spool().find(bankId)).isPresent();

                WebDriver b = browser();
                try {
                    String base = "http://127.0.0.1:" + gw.adminPort();
                    b.get(base + "/");
                    assertThat(b.findElement(By.id("panels")).isDisplayed()).isFalse(); // nothing without the token
                    b.findElement(By.id("token")).sendKeys(token);
                    b.findElement(By.id("token-save")).click();
                    awaitRefresh(b, null);
                    assertThat(text(b, "status")).as("every panel loaded").startsWith("Updated ");

                    // coverage: the totals are the report's over the chart's window, the bars are drawn
                    Instant since = Instant.parse(text(b, "cov-cmd-since"));
                    TlsReport report = store.report(since, null, null);
                    for (Direction d : Direction.values()) {
                        TlsReport.Shares s = part(report, d).messages();
                        String p = "cov-" + d.name().toLowerCase() + "-";
                        assertThat(text(b, p + "total")).as(p + "total").isEqualTo(String.valueOf(s.total()));
                        assertThat(text(b, p + "clear")).isEqualTo(String.valueOf(s.clear()));
                        assertThat(text(b, p + "unverified")).isEqualTo(String.valueOf(s.unverified()));
                        assertThat(text(b, p + "verified")).isEqualTo(String.valueOf(s.verified()));
                        assertThat(text(b, p + "unknown")).isEqualTo(String.valueOf(s.unknown()));
                    }
                    assertThat(part(report, Direction.OUT).messages().clear()).isEqualTo(1);
                    assertThat(part(report, Direction.OUT).messages().unverified()).isEqualTo(1);
                    assertThat(part(report, Direction.IN).messages().clear()).isEqualTo(2);
                    var timeline = store.timeline(since, Duration.ofHours(1));
                    assertThat(timeline.total(Direction.OUT)).isEqualTo(part(report, Direction.OUT).messages());
                    assertThat(b.findElements(By.cssSelector("#chart-out svg rect"))).isNotEmpty();
                    assertThat(b.findElements(By.cssSelector("#chart-in svg rect.k-clear"))).isNotEmpty();

                    // enforced partners: bank.example first (failing), its figures the report's enforced line
                    TlsReport.Enforced bank = part(store.report(Instant.now().minus(Duration.ofDays(7)), null,
                            Direction.OUT), Direction.OUT).enforced().stream()
                            .filter(e -> e.domain().equals("bank.example")).findFirst().orElseThrow();
                    List<WebElement> partners = b.findElements(By.cssSelector("#partners tbody tr"));
                    assertThat(partners.getFirst().getAttribute("data-domain")).isEqualTo("bank.example");
                    List<WebElement> cells = partners.getFirst().findElements(By.tagName("td"));
                    assertThat(cells.get(1).getText()).isEqualTo("encrypt");
                    assertThat(cells.get(2).getText()).isNotEqualTo("not available");
                    assertThat(cells.get(3).getText()).isEqualTo(String.valueOf(bank.attempts()));
                    assertThat(cells.get(4).getText()).isEqualTo(String.valueOf(bank.delivered()));
                    assertThat(cells.get(5).getText()).isEqualTo(String.valueOf(bank.failed())).isEqualTo("1");

                    // then open.example, healthy, with the certificate its next hop showed
                    assertThat(partners.get(1).getAttribute("data-domain")).isEqualTo("open.example");
                    var cert = store.partnerCertificate("open.example").orElseThrow();
                    assertThat(partners.get(1).findElements(By.tagName("td")).get(7).getText())
                            .startsWith(cert.notAfter().toString().replace("T", " ")).contains("(29 days)");

                    // policy failures and downgrades: the bank's deferral and plain.example's clear text
                    String events = text(b, "events");
                    assertThat(events).contains("erin@bank.example", "failure", "4.7.")
                            .contains("dave@plain.example", "downgrade");

                    // the queue: the deferred message with its reason
                    WebElement queued = b.findElement(By.cssSelector("#queue tbody tr[data-id='" + bankId + "']"));
                    assertThat(queued.getText()).contains("erin@bank.example", "deferred", "4.7.");
                    // the alerts panel: the enforced link's alert, firing, as the alert engine holds it
                    assertThat(gw.alerts().active()).anySatisfy(a -> assertThat(a.subject())
                            .isEqualTo("bank.example"));
                    assertThat(text(b, "alerts")).startsWith("Firing (").contains("bank.example", "4.7.10");

                    Path png = Path.of("target", "dashboard.png");
                    Files.createDirectories(png.getParent());
                    File shot = ((TakesScreenshot) b).getScreenshotAs(OutputType.FILE);
                    Files.copy(shot.toPath(), png, StandardCopyOption.REPLACE_EXISTING);

                    // an override from the page (the reason is shown as text, never as markup)
                    b.findElement(By.id("ov-domain")).sendKeys("bank.example");
                    new org.openqa.selenium.support.ui.Select(b.findElement(By.id("ov-level"))).selectByValue("may");
                    b.findElement(By.id("ov-until")).clear();
                    b.findElement(By.id("ov-until")).sendKeys("1h");
                    b.findElement(By.id("ov-reason")).sendKeys("<b>INC-7</b> their STARTTLS is broken");
                    b.findElement(By.id("ov-by")).sendKeys("alice");
                    String before = loaded(b);
                    b.findElement(By.id("ov-set")).click();
                    acceptConfirm(b);
                    awaitRefresh(b, before);
                    assertThat(text(b, "override-result")).startsWith("Override set: bank.example may until");
                    WebElement row = b.findElement(By.cssSelector("#overrides tbody tr[data-domain='bank.example']"));
                    assertThat(row.getText()).contains("may", "active", "alice", "<b>INC-7</b> their STARTTLS is broken");
                    assertThat(b.findElements(By.cssSelector("#overrides b"))).isEmpty();

                    // the deferred message now goes, in clear text, at the flush
                    assertThat(gw.scheduler().flush(bankId)).isTrue();
                    await().atMost(Duration.ofSeconds(15)).until(() -> plainPeer.delivered().stream()
                            .anyMatch(t -> t.recipients().contains("erin@bank.example")));
                    assertThat(plainPeer.delivered().stream().filter(t -> t.recipients()
                            .contains("erin@bank.example")).findFirst().orElseThrow().usedTls()).isFalse();
                    await().atMost(Duration.ofSeconds(15)).until(() -> gw.spool().find(bankId).isEmpty());
                    MessageTrace traced = await().atMost(Duration.ofSeconds(15)).until(
                            () -> store.trace(bankId).getFirst(), t -> t.deliveries().stream()
                                    .anyMatch(d -> d.outcome() == DeliveryRecord.Outcome.DELIVERED));
                    assertThat(traced.deliveries().getLast().tlsSessionId()).isNotNull();
                    assertThat(traced.sessions().get(traced.deliveries().getLast().tlsSessionId()).policy().source())
                            .isEqualTo("override");

                    // end it from the page
                    before = loaded(b);
                    b.findElement(By.id("refresh")).click();
                    awaitRefresh(b, before);
                    assertThat(b.findElements(By.cssSelector("#queue tbody tr[data-id='" + bankId + "']"))).isEmpty();
                    b.findElement(By.cssSelector("#overrides tbody tr[data-domain='bank.example'] button.end")).click();
                    b.findElement(By.id("end-reason")).sendKeys("fixed upstream");
                    b.findElement(By.id("end-by")).sendKeys("bob");
                    before = loaded(b);
                    b.findElement(By.id("end-confirm")).click();
                    acceptConfirm(b);
                    awaitRefresh(b, before);
                    assertThat(text(b, "override-result")).isEqualTo("Override of bank.example ended.");
                    assertThat(b.findElements(By.cssSelector("#overrides tbody tr[data-domain='bank.example']")))
                            .isEmpty();
                    String log = Files.readString(data.resolve("admin.log"));
                    assertThat(log).contains("\"by\":\"alice\",\"peer\":\"127.0.0.1\",\"action\":\"POLICY_OVERRIDE_SET\"")
                            .contains("\"by\":\"bob\",\"peer\":\"127.0.0.1\",\"action\":\"POLICY_OVERRIDE_CLEARED\"")
                            .contains("ended early (fixed upstream)");

                    // a trace from the page: the bank's message, deferred then delivered
                    b.findElement(By.id("trace-q")).sendKeys(bankId);
                    b.findElement(By.id("trace-go")).click();
                    new WebDriverWait(b, Duration.ofSeconds(10)).until(d -> !d.findElement(By.id("trace-result"))
                            .getText().isBlank());
                    assertThat(text(b, "trace-result")).contains("Message " + bankId + " <m-bank@a.example>",
                            "to <erin@bank.example> attempt 1: deferred 4.7.", "attempt 2: delivered");
                    b.findElement(By.id("trace-q")).clear();
                    b.findElement(By.id("trace-q")).sendKeys("carol@open.example");
                    b.findElement(By.id("trace-go")).click();
                    new WebDriverWait(b, Duration.ofSeconds(10)).until(d -> d.findElement(By.id("trace-result"))
                            .getText().contains("carol@open.example"));
                    assertThat(text(b, "trace-result")).contains("over TLSv1.3");
                } catch (Throwable t) {
                    // what the page showed when it went wrong, beside the report
                    File shot = ((TakesScreenshot) b).getScreenshotAs(OutputType.FILE);
                    Files.createDirectories(Path.of("target"));
                    Files.copy(shot.toPath(), Path.of("target", "dashboard-failure.png"),
                            StandardCopyOption.REPLACE_EXISTING);
                    t.addSuppressed(new AssertionError("page status: " + text(b, "status")
                            + " (screenshot target/dashboard-failure.png)"));
                    throw t;
                } finally {
                    b.quit();
                }
            }
        }
    }

    static TlsReport.Part part(TlsReport r, Direction d) {
        return r.directions().stream().filter(p -> p.direction() == d).findFirst().orElseThrow();
    }
}
