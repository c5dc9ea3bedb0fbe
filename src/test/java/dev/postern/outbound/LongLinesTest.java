package dev.postern.outbound;

import static dev.postern.outbound.Outbound.awaitEmptySpool;
import static dev.postern.outbound.Outbound.eventually;
import static dev.postern.outbound.Outbound.submit;
import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.cli.Gateway;
import dev.postern.testkit.ScriptedSmtpServer;
import dev.postern.testkit.ScriptedSmtpServer.Transaction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 11 item 10: like Postfix, a text line over RFC 5321's 1,000 octets is accepted inbound and broken before it
 * goes to the next hop, which never sees a line over 998 octets + CRLF; nothing of the content is lost.
 */
class LongLinesTest {
    @TempDir Path data;

    @Test void aLongLineIsAcceptedAndReachesTheNextHopInPiecesOfAtMost1000Octets() throws Exception {
        StringBuilder line = new StringBuilder(); // 5,000 octets, a dot wherever a piece could start
        while (line.length() < 5000) line.append(".abcdefghi");
        String body = "From: alice@a.example\r\nTo: bob@b.example\r\nSubject: long line\r\n\r\nbefore\r\n" + line
                + "\r\nafter\r\n";
        try (ScriptedSmtpServer server = ScriptedSmtpServer.create().pipelining().start();
             Gateway gw = Gateway.start(Outbound.relayingTo(data, server.port(), "b.example"))) {
            submit(gw, "alice@a.example", List.of("bob@b.example"), body); // inbound: 250
            eventually().until(() -> server.delivered().size() == 1);
            awaitEmptySpool(gw);
            Transaction t = server.delivered().getFirst();
            String wire = new String(t.wireData(), StandardCharsets.ISO_8859_1);
            // RFC 5321 §4.5.3.1.6: 1,000 octets with CRLF, not counting a dot duplicated for transparency
            assertThat(wire.split("\r\n", -1)).allSatisfy(l -> assertThat(l.length() - (l.startsWith("..") ? 1 : 0) + 2)
                    .isLessThanOrEqualTo(1000));
            String text = t.text();
            List<String> lines = Arrays.asList(text.split("\r\n", -1));
            int from = lines.indexOf("before") + 1;
            int to = lines.indexOf("after");
            assertThat(to - from).as("pieces").isEqualTo(6);
            assertThat(String.join("", lines.subList(from, to))).isEqualTo(line.toString());
            assertThat(text).contains(body.substring(0, body.indexOf("before"))).endsWith("after\r\n");
        }
    }
}
