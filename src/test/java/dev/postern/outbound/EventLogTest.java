package dev.postern.outbound;

import static dev.postern.outbound.Outbound.body;
import static dev.postern.outbound.Outbound.eventually;
import static dev.postern.outbound.Outbound.submit;
import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.OutputStreamAppender;
import ch.qos.logback.core.encoder.Encoder;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.postern.cli.Gateway;
import dev.postern.config.Config;
import dev.postern.logging.LogfmtEncoder;
import dev.postern.testkit.ScriptedSmtpServer;
import dev.postern.testkit.SmtpTestClient;
import dev.postern.testkit.TestConfigs;
import java.io.ByteArrayOutputStream;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;
import net.logstash.logback.encoder.LogstashEncoder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * Issue 15, logs an auditor and a script can read: real sessions over 127.0.0.1 against an in-process gateway, its
 * lines captured from both encoders at once (logfmt and JSON) and read back by a strict logfmt parser written here
 * and by Jackson. Hostile EHLO names and addresses (quotes, backslashes, '=', ANSI escapes, 5 KB) must come out
 * escaped on one line; every refusal, recipient outcome, bounce, DNS failure and unusable policy has its line and
 * fields; a session's lines all carry its id; QUIT, a client's close and a server timeout end with three results.
 */
class EventLogTest {
    static final String ESC = "\u001b";
    static final String HOSTILE = "ev\"il\\na=me" + ESC + "[31mred" + ESC + "]0;title\u0007";

    @TempDir Path data;
    final Capture logfmt = new Capture(new LogfmtEncoder());
    final Capture json = new Capture(jsonEncoder());

    @BeforeEach void attach() {
        logfmt.attach();
        json.attach();
    }

    @AfterEach void detach() {
        logfmt.detach();
        json.detach();
    }

    @Test void aSessionsLinesAreStrictLogfmtAndJsonWithEveryEventAndField() throws Exception {
        try (DatagramSocket deadDns = new DatagramSocket(0, InetAddress.getLoopbackAddress());
             ScriptedSmtpServer server = ScriptedSmtpServer.create().enhancedStatusCodes()
                     .onRcpt("bad@b.example", "550 5.1.1 no such \"user\" here").start()) {
            int deadPort = deadDns.getLocalPort();
            deadDns.close(); // a closed UDP port: every query fails
            Config c = config(server.port(), deadPort);
            try (Gateway gw = Gateway.start(c)) {
                InetSocketAddress mx = gw.boundAddresses().get(0);
                InetSocketAddress submission = gw.boundAddresses().get(1);

                // 1. hostile names and addresses, a relay refusal, a real message; the client says QUIT
                String quitSession;
                String queued;
                try (SmtpTestClient cl = SmtpTestClient.connect(mx)) {
                    assertThat(cl.read().code()).isEqualTo(220);
                    assertThat(cl.command("EHLO a name with \"spaces\" = and \\ " + ESC + "[2J").code()).isEqualTo(501);
                    String longName = HOSTILE + "x".repeat(5000);
                    assertThat(cl.command("EHLO " + longName).code()).isEqualTo(250);
                    assertThat(cl.command("MAIL FROM:<" + "\"q\\\"=" + ESC + "[1m\"@a.example>").code()).isIn(250, 501);
                    cl.command("RSET");
                    assertThat(cl.command("MAIL FROM:<alice@a.example>").code()).isEqualTo(250);
                    assertThat(cl.command("RCPT TO:<someone@elsewhere.example>").code()).isEqualTo(554);
                    assertThat(cl.command("RCPT TO:<" + ESC + "[2J" + "y".repeat(5000) + "=\"@elsewhere.example>").code())
                            .isBetween(500, 599);
                    assertThat(cl.command("RCPT TO:<good@b.example>").code()).isEqualTo(250);
                    assertThat(cl.command("RCPT TO:<bad@b.example>").code()).isEqualTo(250);
                    assertThat(cl.command("RCPT TO:<nodns@dnsfail.example>").code()).isEqualTo(250);
                    assertThat(cl.command("RCPT TO:<ca@brokenca.example>").code()).isEqualTo(250);
                    assertThat(cl.command("DATA").code()).isEqualTo(354);
                    cl.send("Message-ID: <m1." + "\"odd=id\"@client.test>\r\nSubject: hi\r\n\r\nHello\r\n.\r\n");
                    SmtpTestClient.Response done = cl.read();
                    assertThat(done.code()).isEqualTo(250);
                    queued = done.last().substring(done.last().lastIndexOf(' ') + 1);
                    assertThat(cl.command("QUIT").code()).isEqualTo(221);
                }
                Map<String, String> queuedLine = logfmt.await(l -> "queued".equals(l.get("msg"))
                        && queued.equals(l.get("id")));
                quitSession = queuedLine.get("session");
                assertThat(quitSession).isNotBlank();
                assertThat(queuedLine).containsEntry("from", "<alice@a.example>")
                        .containsEntry("message-id", "<m1.\"odd=id\"@client.test>").containsEntry("rcpts", "4");
                // the hostile EHLO name (control characters already '_' and its length cut as in the Received
                // header): escaped, on one line
                assertThat(queuedLine.get("helo")).startsWith("ev\"il\\na=me_[31mred")
                        .hasSizeLessThan(700);

                // 2. submission without STARTTLS: 530 5.7.0; the client just closes
                try (SmtpTestClient cl = SmtpTestClient.connect(submission)) {
                    cl.read();
                    cl.command("EHLO closer.test");
                    assertThat(cl.command("MAIL FROM:<alice@a.example>").code()).isEqualTo(530);
                }
                // 3. a client that says nothing after EHLO: the server's command timeout
                try (SmtpTestClient cl = SmtpTestClient.connect(mx)) {
                    cl.read();
                    cl.command("EHLO sleeper.test");
                    assertThat(cl.read().code()).isEqualTo(421); // after command_timeout
                }

                Map<String, String> quit = logfmt.await(l -> "disconnect".equals(l.get("msg"))
                        && quitSession.equals(l.get("session")));
                assertThat(quit).containsEntry("result", "quit").containsEntry("accepted", "1")
                        .containsKeys("client", "client-port", "helo", "duration-ms");
                Map<String, String> closed = logfmt.await(l -> "disconnect".equals(l.get("msg"))
                        && "closer.test".equals(l.get("helo")));
                assertThat(closed).containsEntry("result", "client-closed");
                Map<String, String> timeout = logfmt.await(l -> "disconnect".equals(l.get("msg"))
                        && "sleeper.test".equals(l.get("helo")));
                assertThat(timeout).containsEntry("result", "timeout");

                // every line of the QUIT session carries its id, client and port; the connect line says where
                List<Map<String, String>> session = logfmt.lines(l -> quitSession.equals(l.get("session")));
                assertThat(session).hasSizeGreaterThanOrEqualTo(7).allSatisfy(l -> assertThat(l)
                        .containsEntry("client", "127.0.0.1").containsKey("client-port").containsKey("time")
                        .containsKey("level").containsKey("logger"));
                assertThat(session.getFirst()).containsEntry("msg", "connect").containsEntry("role", "mx");
                assertThat(logfmt.lines(l -> "refused".equals(l.get("msg")) && quitSession.equals(l.get("session"))
                        && "EHLO".equals(l.get("cmd"))).getFirst())
                        .containsEntry("arg", "a name with \"spaces\" = and \\ " + ESC + "[2J")
                        .containsEntry("reply", "501 5.5.4 Syntax: EHLO hostname");
                assertThat(logfmt.lines(l -> "refused".equals(l.get("msg")) && quitSession.equals(l.get("session"))
                        && "<someone@elsewhere.example>".equals(l.get("to"))).getFirst())
                        .containsEntry("cmd", "RCPT").containsEntry("reply", "554 5.7.1 Relay access denied");
                Map<String, String> longRcpt = logfmt.lines(l -> "refused".equals(l.get("msg"))
                        && quitSession.equals(l.get("session")) && l.getOrDefault("arg", "").contains("yyyy"))
                        .getFirst();
                assertThat(longRcpt.get("arg")).hasSizeLessThan(700).startsWith("TO:<" + ESC + "[2J").endsWith("more]");
                assertThat(logfmt.await(l -> "refused".equals(l.get("msg")) && "MAIL".equals(l.get("cmd"))
                        && l.getOrDefault("reply", "").startsWith("530 5.7.0"))).containsKey("session");

                // 4. one line per recipient outcome, with where, the reply, the DSN status and the policy source
                Map<String, String> good = logfmt.await(outcome(queued, "<good@b.example>"));
                assertThat(good).containsEntry("result", "delivered").containsEntry("dsn", "2.0.0")
                        .containsEntry("relay", "127.0.0.1[127.0.0.1]:" + server.port())
                        .containsKeys("policy", "policy-source", "tls", "reply");
                Map<String, String> bad = logfmt.await(outcome(queued, "<bad@b.example>"));
                assertThat(bad).containsEntry("result", "bounced").containsEntry("dsn", "5.1.1")
                        .containsKey("policy-source");
                assertThat(bad.get("reply")).contains("550 5.1.1 no such \"user\" here");
                Map<String, String> nodns = logfmt.await(outcome(queued, "<nodns@dnsfail.example>"));
                assertThat(nodns).containsEntry("result", "deferred").containsKey("policy-source");
                Map<String, String> brokenCa = logfmt.await(outcome(queued, "<ca@brokenca.example>"));
                assertThat(brokenCa).containsEntry("result", "deferred").containsEntry("dsn", "4.7.5")
                        .containsEntry("policy", "verify");
                // why the DSN was made
                Map<String, String> bounce = logfmt.await(l -> "bounce".equals(l.get("msg"))
                        && queued.equals(l.get("original")));
                assertThat(bounce).containsEntry("to", "<alice@a.example>").containsEntry("rcpts", "<bad@b.example>")
                        .containsEntry("status", "5.1.1").containsEntry("action", "failed");
                assertThat(bounce.get("reason")).contains("no such \"user\" here");
                // DNS: which name, which type, what failed
                Map<String, String> dns = logfmt.await(l -> "dns lookup failed".equals(l.get("msg"))
                        && "dnsfail.example".equals(l.get("name")));
                assertThat(dns).containsEntry("type", "MX").containsKey("reason");
                // the policy that could not be applied, and why
                Map<String, String> policy = logfmt.await(l -> "policy cannot be applied".equals(l.get("msg"))
                        && "brokenca.example".equals(l.get("domain")));
                assertThat(policy.get("reason")).contains("missing-ca.pem");
                assertThat(policy).containsKey("policy-source").containsEntry("id", queued);
            }
        }
        // The same events through the JSON encoder: one object per line, the same fields.
        List<JsonNode> objects = json.json();
        // a field without a value is left out in both formats (never "helo":null, as never helo=null)
        assertThat(objects).allSatisfy(o -> o.properties().forEach(f -> assertThat(f.getValue().isNull())
                .as("%s in %s", f.getKey(), o).isFalse()));
        assertThat(objects).anySatisfy(o -> {
            assertThat(o.path("message").asText()).isEqualTo("disconnect");
            assertThat(o.path("result").asText()).isEqualTo("quit");
            assertThat(o.path("session").asText()).isNotBlank();
            assertThat(o.path("client").asText()).isEqualTo("127.0.0.1");
        });
        assertThat(objects).anySatisfy(o -> {
            assertThat(o.path("message").asText()).isEqualTo("queued");
            assertThat(o.path("helo").asText()).startsWith("ev\"il\\na=me_[31mred");
        });
        assertThat(objects).anySatisfy(o -> {
            assertThat(o.path("message").asText()).isEqualTo("delivery");
            assertThat(o.path("to").asText()).isEqualTo("<bad@b.example>");
            assertThat(o.path("result").asText()).isEqualTo("bounced");
            assertThat(o.path("policy-source").isMissingNode()).isFalse();
        });
    }

    @Test void authFailuresHaveTheUserAndMechanismNeverTheSecret() throws Exception {
        dev.postern.auth.PasswordFile.empty().with("alice", "correct horse".toCharArray())
                .save(dev.postern.auth.PasswordFile.defaultPath(data));
        try (Gateway gw = Gateway.start(TestConfigs.gateway(data, "gw.a.example", Set.of("a.example")))) {
            String wrong = java.util.Base64.getEncoder().encodeToString(
                    "\0alice\0Tr0ub4dor&3".getBytes(StandardCharsets.UTF_8));
            String hostile = java.util.Base64.getEncoder().encodeToString(
                    ("\0ma\"l=" + ESC + "[31m\nlory\0s3cret-pw").getBytes(StandardCharsets.UTF_8));
            try (SmtpTestClient c = SmtpTestClient.connect(gw.boundAddresses().get(1))) {
                c.read();
                c.command("EHLO auth.test");
                c.startTls();
                c.command("EHLO auth.test");
                assertThat(c.command("AUTH PLAIN " + wrong).last()).startsWith("535 5.7.8");
                assertThat(c.command("AUTH PLAIN " + hostile).last()).startsWith("535 5.7.8");
            }
            Map<String, String> alice = logfmt.await(l -> "refused".equals(l.get("msg")) && "AUTH".equals(l.get("cmd"))
                    && "alice".equals(l.get("user")));
            assertThat(alice).containsEntry("mechanism", "PLAIN").containsEntry("level", "warn")
                    .containsKey("session").doesNotContainKey("arg");
            assertThat(alice.get("reply")).startsWith("535 5.7.8");
            assertThat(logfmt.await(l -> "refused".equals(l.get("msg")) && "AUTH".equals(l.get("cmd"))
                    && l.getOrDefault("user", "").startsWith("ma\"l="))).containsEntry("user",
                    "ma\"l=" + ESC + "[31m\nlory");
            assertThat(logfmt.raw()).noneMatch(l -> l.contains("Tr0ub4dor") || l.contains(wrong)
                    || l.contains("s3cret") || l.contains(hostile));
        }
    }

    @Test void logfmtQuotesAndEscapesWhatItMust() {
        assertThat(value("plain")).isEqualTo("plain");
        assertThat(value("")).isEqualTo("\"\"");
        assertThat(value("a b")).isEqualTo("\"a b\"");
        assertThat(value("a=b")).isEqualTo("\"a=b\"");
        assertThat(value("say \"x\"")).isEqualTo("\"say \\\"x\\\"\"");
        assertThat(value("back\\slash")).isEqualTo("\"back\\\\slash\"");
        assertThat(value("two\r\nlines\tand" + ESC + "[0m\u0085\u2028")).isEqualTo(
                "\"two\\r\\nlines\\tand\\u001b[0m\\u0085\\u2028\"");
        assertThat(value("<a@b.example>")).isEqualTo("<a@b.example>");
        assertThat(value("straße")).isEqualTo("straße");
        for (String v : List.of("", "x", "a b", "q\"", "\\", "=", ESC + "[2J\n", "ü ü", "\u0000\u007f")) {
            assertThat(parse("k=" + value(v))).containsExactly(Map.entry("k", v));
        }
    }

    private static String value(String v) {
        var e = new ch.qos.logback.classic.spi.LoggingEvent();
        e.setMessage("m");
        e.addKeyValuePair(new org.slf4j.event.KeyValuePair("k", v));
        StringBuilder b = new StringBuilder();
        LogfmtEncoder.keyValues(b, e);
        return b.substring(" k=".length());
    }

    private static Predicate<Map<String, String>> outcome(String id, String to) {
        return l -> "delivery".equals(l.get("msg")) && id.equals(l.get("id")) && to.equals(l.get("to"));
    }

    private Config config(int smtpPort, int deadDnsPort) {
        Config c = TestConfigs.gateway(data, "gw.a.example", Set.of("a.example"));
        Config.Limits d = c.limits();
        c = TestConfigs.withLimits(c, new Config.Limits(16_384, d.maxMessageSize(), d.maxRecipients(), 20,
                Duration.ofSeconds(2), d.dataTimeout(), d.sessionTimeout(), d.maxConnections(),
                d.maxConnectionsPerIp(), Config.Limits.DEFAULT_MAX_HOPS, Config.Limits.DEFAULT_JUNK_COMMANDS));
        Map<String, Config.Route> routes = new HashMap<>();
        routes.put("b.example", new Config.Route("127.0.0.1", smtpPort, false));
        routes.put("brokenca.example", new Config.Route("127.0.0.1", smtpPort, false));
        c = TestConfigs.withRelay(c, Set.of("b.example", "dnsfail.example", "brokenca.example"), routes);
        c = TestConfigs.withDns(c, new Config.Dns(List.of(new InetSocketAddress("127.0.0.1", deadDnsPort)),
                Duration.ofSeconds(1), Config.Dnssec.OFF, null), smtpPort);
        Config.TlsPolicy broken = new Config.TlsPolicy(Config.TlsLevel.VERIFY, Config.PolicyMode.ENFORCE, "TLSv1.2",
                List.of(), 0, Config.TlsPolicy.LEVEL_KEY_FLOOR, List.of(), data.resolve("missing-ca.pem"), List.of(),
                null, null);
        return c.withOutboundTls(new Config.OutboundTls(Config.TlsPolicy.of(Config.TlsLevel.MAY),
                Map.of("brokenca.example", broken)));
    }

    private static Encoder<ILoggingEvent> jsonEncoder() {
        return new LogstashEncoder();
    }

    /** An appender on the root logger writing through {@code encoder} into memory: the bytes a file would get. */
    static final class Capture {
        private final Encoder<ILoggingEvent> encoder;
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        private final OutputStreamAppender<ILoggingEvent> appender = new OutputStreamAppender<>();
        private final Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);

        Capture(Encoder<ILoggingEvent> encoder) {
            this.encoder = encoder;
        }

        void attach() {
            LoggerContext context = root.getLoggerContext();
            encoder.setContext(context);
            encoder.start();
            appender.setContext(context);
            appender.setEncoder(encoder);
            appender.setOutputStream(bytes);
            appender.setImmediateFlush(true);
            appender.start();
            root.addAppender(appender);
        }

        void detach() {
            root.detachAppender(appender);
            appender.stop();
        }

        List<String> raw() {
            String text;
            synchronized (bytes) {
                text = bytes.toString(StandardCharsets.UTF_8);
            }
            assertThat(text.isEmpty() || text.endsWith("\n")).as("whole lines only").isTrue();
            return text.isEmpty() ? List.of() : List.of(text.split("\n", -1)).subList(0, text.split("\n", -1).length - 1);
        }

        /** Every captured line, each parsed strictly (a line that is not logfmt fails the test). */
        List<Map<String, String>> lines(Predicate<Map<String, String>> which) {
            List<Map<String, String>> out = new ArrayList<>();
            for (String line : raw()) {
                Map<String, String> parsed = parse(line);
                assertThat(new ArrayList<>(parsed.keySet()).subList(0, 4)).as(line)
                        .containsExactly("time", "level", "logger", "msg");
                if (which.test(parsed)) out.add(parsed);
            }
            return out;
        }

        Map<String, String> await(Predicate<Map<String, String>> which) {
            eventually().until(() -> !lines(which).isEmpty());
            return lines(which).getFirst();
        }

        List<JsonNode> json() throws Exception {
            ObjectMapper mapper = new ObjectMapper();
            List<JsonNode> out = new ArrayList<>();
            for (String line : raw()) {
                JsonNode node = mapper.readTree(line);
                assertThat(node.isObject()).as(line).isTrue();
                out.add(node);
            }
            return out;
        }
    }

    /**
     * A strict logfmt parser: pairs separated by one space; keys [a-z0-9_.-]+, each once; a value bare (printable, no
     * space, '=', '"' or '\') or quoted with only \" \\ \n \r \t and backslash-u escapes; no raw control character.
     */
    static Map<String, String> parse(String line) {
        Map<String, String> out = new LinkedHashMap<>();
        int i = 0, n = line.length();
        while (i < n) {
            if (i > 0) {
                if (line.charAt(i) != ' ') throw new AssertionError("expected one space at " + i + ": " + line);
                i++;
            }
            int k = i;
            while (i < n && isKey(line.charAt(i))) i++;
            if (i == k || i >= n || line.charAt(i) != '=') throw new AssertionError("bad key at " + k + ": " + line);
            String key = line.substring(k, i++);
            StringBuilder v = new StringBuilder();
            if (i < n && line.charAt(i) == '"') {
                i++;
                while (true) {
                    if (i >= n) throw new AssertionError("unterminated value of " + key + ": " + line);
                    char c = line.charAt(i++);
                    if (c == '"') break;
                    if (control(c)) throw new AssertionError("raw control character in " + key + ": " + line);
                    if (c != '\\') {
                        v.append(c);
                        continue;
                    }
                    if (i >= n) throw new AssertionError("dangling backslash: " + line);
                    char e = line.charAt(i++);
                    switch (e) {
                        case '"' -> v.append('"');
                        case '\\' -> v.append('\\');
                        case 'n' -> v.append('\n');
                        case 'r' -> v.append('\r');
                        case 't' -> v.append('\t');
                        case 'u' -> {
                            String hex = line.substring(i, Math.min(n, i + 4));
                            if (!hex.matches("[0-9a-f]{4}")) throw new AssertionError("bad \\u escape: " + line);
                            v.append((char) Integer.parseInt(hex, 16));
                            i += 4;
                        }
                        default -> throw new AssertionError("unknown escape \\" + e + ": " + line);
                    }
                }
                if (i < n && line.charAt(i) != ' ') throw new AssertionError("junk after quote at " + i + ": " + line);
            } else {
                int s = i;
                while (i < n && line.charAt(i) != ' ') {
                    char c = line.charAt(i++);
                    if (c == '=' || c == '"' || c == '\\' || control(c)) {
                        throw new AssertionError("unquoted '" + c + "' in " + key + ": " + line);
                    }
                }
                if (i == s) throw new AssertionError("empty bare value of " + key + ": " + line);
                v.append(line, s, i);
            }
            if (out.put(key, v.toString()) != null) throw new AssertionError("key " + key + " twice: " + line);
        }
        return out;
    }

    private static boolean isKey(char c) {
        return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-';
    }

    private static boolean control(char c) {
        return c < 0x20 || c >= 0x7f && c <= 0x9f || c == '\u2028' || c == '\u2029';
    }

}
