package dev.postern.outbound;

import static dev.postern.outbound.Outbound.awaitEmptySpool;
import static dev.postern.outbound.Outbound.awaitMailbox;
import static dev.postern.outbound.Outbound.body;
import static dev.postern.outbound.Outbound.submit;
import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.cli.Gateway;
import dev.postern.config.Config;
import dev.postern.testkit.ScriptedSmtpServer;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 11 item 8 (outbound): a next hop that is this gateway itself (it greets with our own host name) gets
 * nothing: the recipients bounce with 5.4.6 "mail loops back to myself", like Postfix, instead of the message
 * travelling round until a hop count stops it.
 */
class MailLoopTest {
    @TempDir Path data;

    static final String FROM = "alice@a.example";

    @Test void aRouteThatPointsAtThisGatewayBouncesAtOnce() throws Exception {
        int port = Outbound.closedPort();
        Config base = Outbound.relayingTo(data, port, "b.example"); // b.example -> our own MX listener
        Config config = base.withListeners(List.of(
                new Config.Listener(new InetSocketAddress("127.0.0.1", port), Config.Role.MX)));
        try (Gateway gw = Gateway.start(config);
             Outbound.SchedulerLog log = new Outbound.SchedulerLog()) {
            submit(gw, FROM, List.of("bob@b.example"), body("loop", "Hello"));
            String dsn = awaitMailbox(data, FROM, 1).getFirst().replace("\r\n ", " ");
            assertThat(dsn).contains("Action: failed", "Final-Recipient: rfc822; bob@b.example", "Status: 5.4.6",
                    "mail for b.example loops back to myself: 127.0.0.1[127.0.0.1]:" + port + " greets as "
                            + Outbound.HOSTNAME);
            awaitEmptySpool(gw);
            // one trip: the first attempt stopped at the greeting, nothing was relayed back in
            assertThat(log.lines()).filteredOn(l -> l.startsWith("delivery ") && l.contains("to=<bob@b.example>"))
                    .hasSize(1).allSatisfy(l -> assertThat(l).contains("result=bounced"));
            assertThat(log.lines()).noneMatch(l -> l.contains("to=<bob@b.example>") && l.contains("delivered"));
        }
    }

    @Test void aPeerThatNamesUsOnlyInEhloIsCaughtToo() throws Exception {
        try (ScriptedSmtpServer peer = ScriptedSmtpServer.create().greeting("220 mx.b.example ESMTP")
                .hostname(Outbound.HOSTNAME.toUpperCase(java.util.Locale.ROOT)).start();
             Gateway gw = Gateway.start(Outbound.relayingTo(data, peer.port(), "b.example"))) {
            submit(gw, FROM, List.of("bob@b.example"), body("loop via ehlo", "Hello"));
            String dsn = awaitMailbox(data, FROM, 1).getFirst().replace("\r\n ", " ");
            assertThat(dsn).contains("Status: 5.4.6", "loops back to myself", "answers EHLO as GW.A.EXAMPLE");
            awaitEmptySpool(gw);
            assertThat(peer.transactions()).isEmpty();
        }
    }
}
