package dev.postern.outbound;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The enhanced status code and the remote MTA that go into DSNs, taken from recorded results. */
class SchedulerStatusTest {

    @ParameterizedTest
    @CsvSource(delimiter = '|', textBlock = """
            mx.b.example[192.0.2.1]:25 said: 550 5.1.1 no such user          | 5.1.1
            mx.b.example[10.4.4.7]:25 said: 550 5.1.1 no such user            | 5.1.1
            mx.b.example[10.5.2.2]:25 said: 452 4.2.2 mailbox full            | 4.2.2
            4.2.1.mx.b.example[192.0.2.1]:25 said: 550 5.7.1 refused          | 5.7.1
            mx.b.example[10.5.7.1]:25 said: 550 no enhanced code here         | 5.0.0
            550 5.1.10 domain b.example accepts no mail (null MX, RFC 7505)   | 5.1.10
            552 5.3.4 message too big for mx[127.0.0.1]:25 (limit 1000 bytes) | 5.3.4
            451 4.4.1 connect to mx.b.example[10.5.1.1]:25 failed: refused    | 4.4.1
            mx.b.example[2001:db8::5.1.1]:25 said: 554 5.7.0 no               | 5.7.0
            just words                                                        | 5.0.0
            mx.b.example[192.0.2.1]:25 said: 550 4.2.0 class differs          | 5.0.0
            mx.b.example[192.0.2.1]:25 said: 550-5.2.2 multi                  | 5.2.2
            """)
    void statusOfFindsTheReplysEnhancedCode(String reply, String expected) {
        assertThat(Scheduler.statusOf(reply.strip(), "5.0.0")).isEqualTo(expected);
    }

    @Test void statusOfUsesTheFallbackForEmptyText() {
        assertThat(Scheduler.statusOf("", "4.0.0")).isEqualTo("4.0.0");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', nullValues = "null", textBlock = """
            mx.b.example[192.0.2.1]:25 said: 550 5.1.1 no such user            | mx.b.example
            127.0.0.1[127.0.0.1]:2525 said: 451 4.2.0 try later                | 127.0.0.1
            451 4.4.1 connect to mx.b.example[192.0.2.1]:25 failed: refused    | null
            550 5.1.10 domain b.example accepts no mail (null MX, RFC 7505)    | null
            delivered to maildir /var/mail/a.example/alice                     | null
            """)
    void remoteOfNamesTheHostThatAnswered(String reply, String expected) {
        assertThat(Scheduler.remoteOf(reply.strip())).isEqualTo(expected);
    }
}
