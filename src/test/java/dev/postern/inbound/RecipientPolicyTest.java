package dev.postern.inbound;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.postern.config.Config;
import dev.postern.recipients.Verdict;
import dev.postern.smtp.Mailbox;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which domain's rules apply to a recipient, in A-label form, and in which order list and next hop are asked. */
class RecipientPolicyTest {
    @TempDir Path dir;

    @Test void unicodeAndAsciiSpellingsOfADomainHaveOneRule() throws IOException {
        Path list = Files.writeString(dir.resolve("list"), "alice\n");
        RecipientPolicy p = RecipientPolicy.of(Map.of("xn--bcher-kva.example",
                new Config.DomainRecipients(list, false)), null);
        assertThat(p.check(new Mailbox("alice", "B\u00fccher.example"))).isEqualTo(Verdict.ACCEPTED);
        assertThat(p.check(new Mailbox("alice", "xn--bcher-kva.example"))).isEqualTo(Verdict.ACCEPTED);
        assertThat(p.check(new Mailbox("mallory", "b\u00fccher.example."))).isEqualTo(Verdict.UNKNOWN);
        assertThat(p.check(new Mailbox("mallory", "other.example"))).as("no rule: catch-all")
                .isEqualTo(Verdict.ACCEPTED);
    }

    @Test void theListIsAskedBeforeTheNextHop() throws IOException {
        Path list = Files.writeString(dir.resolve("list"), "alice\nbob\n");
        List<String> asked = new ArrayList<>();
        RecipientPolicy p = RecipientPolicy.of(Map.of("b\u00fccher.example", new Config.DomainRecipients(list, true),
                "partner.example", new Config.DomainRecipients(null, true)), (address, domain) -> {
                    asked.add(address + " " + domain);
                    return address.startsWith("bob") ? new Verdict.Refused("550") : Verdict.ACCEPTED;
                });
        assertThat(p.check(new Mailbox("mallory", "B\u00fccher.example"))).isEqualTo(Verdict.UNKNOWN);
        assertThat(p.check(new Mailbox("Alice", "B\u00fccher.example"))).isEqualTo(Verdict.ACCEPTED);
        assertThat(p.check(new Mailbox("bob", "b\u00fccher.example"))).isInstanceOf(Verdict.Refused.class);
        assertThat(p.check(new Mailbox("carol", "Partner.Example"))).isEqualTo(Verdict.ACCEPTED);
        assertThat(asked).containsExactly("Alice@xn--bcher-kva.example xn--bcher-kva.example",
                "bob@xn--bcher-kva.example xn--bcher-kva.example", "carol@partner.example partner.example");
        assertThat(RecipientPolicy.of(Map.of("partner.example", new Config.DomainRecipients(null, true)), null)
                .check(new Mailbox("carol", "partner.example"))).isInstanceOf(Verdict.Unverified.class);
    }

    @Test void aBadListStopsTheStart() throws IOException {
        Path list = Files.writeString(dir.resolve("list"), "a b\n");
        assertThatThrownBy(() -> RecipientPolicy.of(Map.of("example.com", new Config.DomainRecipients(list, false)),
                null)).isInstanceOf(IOException.class).hasMessageStartingWith(list + ":1: expected");
    }
}
