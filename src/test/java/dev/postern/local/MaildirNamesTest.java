package dev.postern.local;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Local parts and domains an attacker chooses must never steer a Maildir outside its place, nor into another's. */
class MaildirNamesTest {
    @TempDir Path dir;

    static final List<String> HOSTILE_LOCAL_PARTS = List.of(
            "..", ".", "...", ".hidden", "../../../etc", "a/../../b", "a/b", "a_b", "a%2Fb", "a\\b", "a\0b",
            "a\tb", "a\u007fb", "\"..\"", "\"../x\"", "\"a/b\"", "\"\"", "\"a\\\"b\"", "\"a\\\\b\"", "\"\u0001\"",
            "%", "%25", "con", "a*b", "$(reboot)", "`id`", "x".repeat(64), "\u00fcser", "\u202eevil",
            "\"a b\"", "-rf", "~root");

    @Test void hostileLocalPartsStayInTheirDomainDirectoryAndAreDistinct() throws Exception {
        Path root = dir.resolve("mail");
        MaildirDelivery m = new MaildirDelivery(root, "gw.test");
        Path domainDir = root.resolve("postern.test");
        Map<Path, String> seen = new HashMap<>();
        for (String local : HOSTILE_LOCAL_PARTS) {
            String rcpt = local + "@postern.test";
            Path box = m.maildir(rcpt);
            assertThat(box.getParent()).as(rcpt).isEqualTo(domainDir);
            assertThat(box.normalize()).as(rcpt).isEqualTo(box);
            String name = box.getFileName().toString();
            assertThat(name).as(rcpt).doesNotStartWith(".").isNotEmpty();
            assertThat(name.chars()).as(rcpt).noneMatch(c -> c < 0x20 || c == 0x7f || c == '/' || c == '\\'
                    || c == '*' || c == '$' || c == '`' || c == ' ' || c == 0x202e);
            assertThat(name.getBytes(StandardCharsets.UTF_8).length).as(rcpt).isLessThanOrEqualTo(255);
            // Only unquoting and case may merge two spellings of one mailbox.
            String mailbox = dev.postern.recipients.LocalParts.key(local);
            String earlier = seen.put(box, mailbox);
            assertThat(earlier == null || earlier.equals(mailbox)).as(rcpt + " shares a Maildir with " + earlier)
                    .isTrue();

            Path file = m.deliver(rcpt, new ByteArrayInputStream("hi\r\n".getBytes(StandardCharsets.US_ASCII)));
            assertThat(file.toRealPath()).startsWith(domainDir.toRealPath());
            assertThat(file.getParent().getParent()).isEqualTo(box);
        }
        try (Stream<Path> all = Files.walk(dir)) {
            assertThat(all.filter(Files::isRegularFile)).allMatch(p -> p.startsWith(domainDir));
        }
        try (Stream<Path> boxes = Files.list(domainDir)) {
            assertThat(boxes.count()).isEqualTo(seen.size()).isGreaterThan(HOSTILE_LOCAL_PARTS.size() - 4);
        }
    }

    @Test void quotedAndCaseVariantsAreOneMailbox() {
        MaildirDelivery m = new MaildirDelivery(dir, "gw.test");
        assertThat(m.maildir("\"John\"@Postern.Test")).isEqualTo(m.maildir("john@postern.test"))
                .isEqualTo(dir.resolve("postern.test/john"));
        assertThat(m.maildir("user+tag@postern.test")).isEqualTo(dir.resolve("postern.test/user+tag"));
        assertThat(m.maildir("first.last@postern.test")).isEqualTo(dir.resolve("postern.test/first.last"));
    }

    @Test void hostileDomainsStayUnderTheRoot() {
        MaildirDelivery m = new MaildirDelivery(dir, "gw.test");
        for (String domain : List.of("..", ".", "../etc", "a/b", "[127.0.0.1]", "[IPv6:::1]", "")) {
            Path box = m.maildir("user@" + domain);
            assertThat(box.getParent().getParent()).as(domain).isEqualTo(dir);
            assertThat(box.getParent().getFileName().toString()).as(domain).doesNotStartWith(".")
                    .doesNotContain("/");
        }
        assertThat(m.maildir("user@B\u00fccher.example")).isEqualTo(dir.resolve("xn--bcher-kva.example/user"));
    }
}
