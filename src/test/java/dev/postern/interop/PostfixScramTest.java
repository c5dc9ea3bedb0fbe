package dev.postern.interop;

import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.auth.PasswordFile;
import dev.postern.auth.PasswordHash;
import dev.postern.cli.Gateway;
import dev.postern.config.Config;
import dev.postern.testkit.SmtpTestClient;
import dev.postern.testkit.TestConfigs;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SCRAM-SHA-256 against an independent client: Postfix's SMTP client with Cyrus SASL's SCRAM plugin authenticates
 * to Postern's submission listener over STARTTLS.
 * <pre>
 *   test ─▶ Postfix smtpd ─(smtp, TLS required, AUTH SCRAM-SHA-256)─▶ Postern submission ─▶ Maildir
 * </pre>
 */
class PostfixScramTest {
    static final String POSTERN = "mx.postern.test";
    static final String POSTFIX = "pfx.interop.test";

    @TempDir static Path tmp;
    static Gateway postern;
    static PostfixInstance postfix;
    static InetSocketAddress posternSubmission;

    @BeforeAll static void start() throws Exception {
        Peers.postfix();
        Path data = tmp.resolve("postern");
        PasswordFile.empty()
                .with("carol", "Tr0ub4dor&3 sc\u00e4m".toCharArray())       // SCRAM secrets (non-ASCII: SASLprep)
                .save(PasswordFile.defaultPath(data));
        Config c = TestConfigs.gateway(data, POSTERN, Set.of("postern.test"));
        // No relay networks: only AUTH lets Postfix relay through the submission listener.
        c = new Config(c.source(), c.hostname(), c.dataDir(), c.listeners(), c.localDomains(), c.relayDomains(),
                List.of(), c.tls(), c.limits(), c.queue(), c.delivery(), c.dns(), c.routes());
        postern = Gateway.start(c);
        posternSubmission = postern.boundAddresses().get(1);

        Path etc = Files.createDirectories(tmp.resolve("sasl"));
        String nexthop = "[127.0.0.1]:" + posternSubmission.getPort();
        Files.writeString(etc.resolve("carol"), nexthop + " carol:Tr0ub4dor&3 sc\u00e4m\n");
        Files.writeString(etc.resolve("dave"), nexthop + " dave:old-password\n");
        Map<String, String> sasl = Map.of(
                "smtp_sasl_auth_enable", "yes",
                "smtp_sasl_security_options", "noanonymous",
                "smtp_sasl_tls_security_options", "noanonymous",
                "smtp_tls_security_level", "encrypt");
        postfix = PostfixInstance.start(tmp.resolve("postfix"), Peers.freePort(), new PostfixInstance.Settings(POSTFIX)
                .client("scram", with(sasl, Map.of("smtp_sasl_password_maps", "texthash:" + etc.resolve("carol"),
                        "smtp_sasl_mechanism_filter", "scram-sha-256")))
                .client("anymech", with(sasl, Map.of("smtp_sasl_password_maps", "texthash:" + etc.resolve("dave"))))
                .route("carol@postern.test", "scram", posternSubmission.getPort())
                .route("dave@postern.test", "anymech", posternSubmission.getPort()));
    }

    private static Map<String, String> with(Map<String, String> a, Map<String, String> b) {
        Map<String, String> m = new java.util.LinkedHashMap<>(a);
        m.putAll(b);
        return m;
    }

    @AfterAll static void stop() {
        try {
            if (postfix != null) postfix.close();
        } finally {
            if (postern != null) postern.close();
        }
    }

    private static String send(String rcpt) throws Exception {
        String body = "From: x@pfx.interop.test\r\nTo: " + rcpt + "\r\nSubject: scram\r\n\r\nhi\r\n";
        SmtpTestClient.Response queued = Mail.send(new InetSocketAddress("127.0.0.1", postfix.port()), false,
                "x@pfx.interop.test", rcpt, body);
        Matcher m = Pattern.compile("queued as (\\w+)").matcher(queued.text());
        assertThat(m.find()).as(queued.text()).isTrue();
        return m.group(1);
    }

    @Test void scramWhileEveryUserHasSecretsThenPlainForAUserWithoutThem() throws Exception {
        // Every user has SCRAM secrets: SCRAM-SHA-256 is advertised, and Postfix (restricted to it) logs in with it.
        String id = send("carol@postern.test");
        String stored = Mail.awaitOne(Mail.posternMaildir(tmp.resolve("postern"), "carol@postern.test"),
                postfix::diagnostics);
        assertThat(stored).as(stored).contains("\t(Authenticated sender: carol)\r\n", " with ESMTPSA id ");
        postfix.awaitLog(id + ": to=<carol@postern\\.test>, relay=127\\.0\\.0\\.1.* status=sent \\(250 ",
                Duration.ofSeconds(10));

        // A user with only a hash (made before SCRAM, or with --no-scram) joins: Cyrus SASL prefers SCRAM and would
        // not fall back to PLAIN after a 535, so Postern stops advertising SCRAM and dave gets in with PLAIN.
        Path users = PasswordFile.defaultPath(tmp.resolve("postern"));
        PasswordFile.load(users).withHash("dave", PasswordHash.bcrypt("old-password".toCharArray(), 4)).save(users);
        String second = send("dave@postern.test");
        String daves = Mail.awaitOne(Mail.posternMaildir(tmp.resolve("postern"), "dave@postern.test"),
                postfix::diagnostics);
        assertThat(daves).as(daves).contains("\t(Authenticated sender: dave)\r\n");
        postfix.awaitLog(second + ": to=<dave@postern\\.test>.* status=sent \\(250 ", Duration.ofSeconds(10));
    }
}
