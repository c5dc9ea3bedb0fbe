package dev.postern.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.audit.SeenCertificate;
import dev.postern.audit.TlsReport;
import dev.postern.audit.TlsSessionRecord.Direction;
import dev.postern.trace.TraceText;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@code postern certs seen} and {@code postern report tls} print names a peer chose (a certificate's subject, a
 * SAN, a cipher or domain as recorded): a line break or an escape sequence in one must not forge a line nor reach
 * the terminal.
 */
class HostileTextTest {
    private static final Instant NOW = Instant.parse("2026-05-01T00:00:00Z");

    private static boolean inert(String text) {
        return text.chars().noneMatch(c -> c != '\n' && (c < 0x20 || (c >= 0x7f && c <= 0x9f)));
    }

    @Test void certsSeenPrintsAHostileSubjectOnItsOwnLineInert() {
        SeenCertificate c = new SeenCertificate("ab".repeat(32), "CN=evil\n  issuer:  CN=Trusted Root\u001b[8m",
                List.of("mx.evil.example\r\u009b2K"), "CN=x\u202eelpmaxe", NOW, NOW.plusSeconds(86_400), "EC", 256,
                NOW, NOW, 1, List.of(new SeenCertificate.Peer(Direction.OUT, "mx.evil.example:25", "192.0.2.1",
                "gw", 1, NOW, NOW)));
        var bytes = new ByteArrayOutputStream();
        CertsCommand.text(List.of(c), NOW, null, new PrintStream(bytes, true, StandardCharsets.UTF_8));
        String text = bytes.toString(StandardCharsets.UTF_8);
        assertThat(inert(text)).as(text).isTrue();
        assertThat(text).doesNotContain("\u202e").contains("CN=evil\\x0a  issuer:  CN=Trusted Root\\x1b[8m  expires",
                "names:   mx.evil.example\\x0d\\x9b2K", "issuer:  CN=x\\u{202e}elpmaxe");
        assertThat(text.lines().filter(l -> l.startsWith("  issuer:"))).hasSize(1);
    }

    @Test void reportTextAndCsvPrintHostileNamesInert() {
        var usage = new TlsReport.Usage("TLS_FAKE\u001b[2J\nverified", 1, 1);
        var shares = new TlsReport.Shares(1, 0, 0, 1, 0);
        var part = new TlsReport.Part(Direction.OUT, shares, shares,
                List.of(new TlsReport.DomainShares("evil\u0000.example", shares)), List.of(usage), List.of(usage),
                List.of(), List.of());
        var report = new TlsReport(NOW.minusSeconds(3600), NOW, null, List.of(part));
        for (boolean csv : new boolean[] {false, true}) {
            var bytes = new ByteArrayOutputStream();
            var out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
            if (csv) ReportCommand.csv(report, out);
            else ReportCommand.text(report, out);
            String text = bytes.toString(StandardCharsets.UTF_8);
            assertThat(inert(text)).as(text).isTrue();
            assertThat(text).contains("TLS_FAKE\\x1b[2J\\x0averified", "evil\\x00.example");
        }
    }

    @Test void printableKeepsLettersAndPairedSurrogates() {
        assertThat(TraceText.printable("bücher.example 📧 CN=Zoë")).isEqualTo("bücher.example 📧 CN=Zoë");
        assertThat(TraceText.printable("a\tb\u007fc\u2028d\ud800")).isEqualTo("a\\x09b\\x7fc\\u{2028}d\\u{d800}");
    }
}
