package dev.postern.tlsrpt;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** RFC 8460 §3's record as domains write it, and as they get it wrong. */
class RuaRecordTest {
    @Test void theRfcExamplesAndTheirSpacing() {
        RuaRecord r = RuaRecord.pick(List.of("v=spf1 -all",
                "v=TLSRPTv1 ; rua=mailto:reports@example.com , https://reporting.example.com/v1/tlsrpt ;")).orElseThrow();
        assertThat(r.rua()).containsExactly(
                new RuaRecord.Mailto("mailto:reports@example.com", "reports@example.com"),
                new RuaRecord.Https("https://reporting.example.com/v1/tlsrpt",
                        java.net.URI.create("https://reporting.example.com/v1/tlsrpt")));
        assertThat(RuaRecord.pick(List.of("v=TLSRPTv1;rua=mailto:Tls@Bank.EXAMPLE.;ext-1=value")).orElseThrow()
                .rua()).containsExactly(new RuaRecord.Mailto("mailto:Tls@Bank.EXAMPLE.", "Tls@bank.example"));
        assertThat(RuaRecord.name("bank.example")).isEqualTo("_smtp._tls.bank.example");
    }

    @Test void recordsThatAskForNothing() {
        assertThat(RuaRecord.pick(List.of())).isEmpty();
        assertThat(RuaRecord.pick(List.of("v=TLSRPTv1; rua=mailto:a@x.example", "v=TLSRPTv1; rua=mailto:b@x.example")))
                .as("two records: none").isEmpty();
        assertThat(RuaRecord.pick(List.of("v=TLSRPTv1"))).as("no rua").isEmpty();
        assertThat(RuaRecord.pick(List.of("v=TLSRPTv1; rua=mailto:a@x.example; rua=mailto:b@x.example")))
                .as("rua twice").isEmpty();
        assertThat(RuaRecord.pick(List.of("v=TLSRPTv2; rua=mailto:a@x.example"))).isEmpty();
        assertThat(RuaRecord.pick(List.of("v=TLSRPTv1; rua=mailto:a@x.example; bad ext=1"))).isEmpty();
        assertThat(RuaRecord.pick(List.of("v=TLSRPTv1; rua=http://x.example/r,ftp://x.example/r")))
                .as("only mailto and https are sent to").isEmpty();
        assertThat(RuaRecord.pick(List.of("v=TLSRPTv1; rua=mailto:,mailto:no-at,mailto:a@b@c.example,"
                + "mailto:a@-bad-.example,https://user@x.example/r"))).isEmpty();
    }

    @Test void theUsableTargetsOfAMixedList() {
        RuaRecord r = RuaRecord.pick(List.of("v=TLSRPTv1; rua=http://x.example/r,mailto:ok@x.example?subject=hi"))
                .orElseThrow();
        assertThat(r.rua()).containsExactly(new RuaRecord.Mailto("mailto:ok@x.example?subject=hi", "ok@x.example"));
    }
}
