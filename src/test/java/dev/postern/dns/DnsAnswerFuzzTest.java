package dev.postern.dns;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.stream.Stream;
import org.junit.jupiter.params.provider.MethodSource;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.CNAMERecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.EDNSOption;
import org.xbill.DNS.Flags;
import org.xbill.DNS.MXRecord;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.PTRRecord;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Resolver;
import org.xbill.DNS.ReverseMap;
import org.xbill.DNS.SOARecord;
import org.xbill.DNS.Section;
import org.xbill.DNS.TLSARecord;
import org.xbill.DNS.TSIG;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.Type;

/**
 * Fuzz target: DNS answers as a hostile or broken server sends them, through everything after the socket: dnsjava's
 * parsing of the wire and its normalisation, CNAME handling and cache in the {@link org.xbill.DNS.lookup.LookupSession},
 * and {@link DnsResolver}'s sorting of the outcome into MX, address, TLSA, TXT and PTR results with their
 * {@link Security}. A resolver in memory answers each query with the next fuzzed message (its id and question set to
 * the query's, as a real server's reply must match them to be taken), so no socket slows the loop.
 *
 * <p>Input: byte 0 the lookup (MX, addresses, TLSA, TXT, PTR), byte 1 bit 0 {@code trust_ad} (else DNSSEC off), then
 * messages, each a two-octet length and the wire bytes. Invariants: a lookup ends in a result or a
 * {@link DnsException} with a one-line message, never another exception, and never in a timeout (every answer is
 * there at once: a timeout would be a lookup that hangs); no answer is secure with DNSSEC off, and none under
 * {@code trust_ad} unless a response carried the AD bit; MX hosts are sorted by preference, without duplicates or the
 * root, and every name given is in lookup form (lower case, no trailing dot); no result holds more records than the
 * responses did.
 */
class DnsAnswerFuzzTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(5);
    private static final InetAddress CLIENT = InetAddress.ofLiteral("192.0.2.1");

    @MethodSource("seeds") // Jazzer: @FuzzTest comes last
    @FuzzTest
    void answers(byte[] input) throws Exception {
        if (input.length < 2) return;
        int lookup = (input[0] & 0xff) % 5;
        DnsResolver.Validation validation = (input[1] & 1) == 1 ? DnsResolver.Validation.TRUST_AD
                : DnsResolver.Validation.OFF;
        Answers answers = new Answers(Arrays.copyOfRange(input, 2, input.length));
        DnsResolver dns = new DnsResolver(answers, TIMEOUT, validation);
        try {
            switch (lookup) {
                case 0 -> mx(dns.lookupMx("example.com"), validation, answers);
                case 1 -> {
                    Addresses a = dns.resolve("mx.example.com");
                    security(a.security(), validation, answers);
                    lookupForm(a.canonicalName());
                    assertThat(a.addresses()).hasSizeLessThanOrEqualTo(answers.count(Type.A) + answers.count(Type.AAAA));
                    boolean v6 = false;
                    for (InetAddress x : a.addresses()) {
                        assertThat(v6 && x.getAddress().length == 4).as("IPv4 first").isFalse();
                        v6 |= x.getAddress().length == 16;
                    }
                }
                case 2 -> {
                    TlsaResult t = dns.lookupTlsa("mx.example.com", 25);
                    security(t.security(), validation, answers);
                    assertThat(t.records()).hasSizeLessThanOrEqualTo(answers.count(Type.TLSA));
                    lookupForm(t.owner());
                }
                case 3 -> assertThat(dns.lookupTxt("_mta-sts.example.com"))
                        .hasSizeLessThanOrEqualTo(answers.count(Type.TXT))
                        .allSatisfy(s -> assertThat(s.length()).isLessThanOrEqualTo(answers.octets));
                default -> {
                    DnsResolver.Answer<String> ptr = dns.ptr(CLIENT);
                    security(ptr.security(), validation, answers);
                    assertThat(ptr.values()).hasSizeLessThanOrEqualTo(answers.count(Type.PTR)).doesNotHaveDuplicates()
                            .allSatisfy(DnsAnswerFuzzTest::lookupForm);
                }
            }
        } catch (DnsException e) {
            assertThat(e.getMessage()).isNotBlank().doesNotContain("\n", "\r").doesNotStartWith("DNS timeout");
            if (e.bogus()) assertThat(validation).isNotEqualTo(DnsResolver.Validation.OFF);
        }
    }

    private static void mx(MxResult r, DnsResolver.Validation validation, Answers answers) {
        if (r instanceof MxResult.Hosts h) {
            assertThat(h.hosts()).isNotEmpty().hasSizeLessThanOrEqualTo(answers.count(Type.MX));
            assertThat(new HashSet<>(h.hosts())).hasSameSizeAs(h.hosts());
            for (int i = 0; i < h.hosts().size(); i++) {
                lookupForm(h.hosts().get(i).host());
                assertThat(h.hosts().get(i).host()).isNotEmpty();
                if (i > 0) {
                    assertThat(h.hosts().get(i).preference()).isGreaterThanOrEqualTo(h.hosts().get(i - 1).preference());
                }
            }
        }
        security(r.security(), validation, answers);
    }

    private static void security(Security s, DnsResolver.Validation v, Answers answers) {
        assertThat(s).isNotNull().isNotEqualTo(Security.BOGUS);
        if (v == DnsResolver.Validation.OFF || !answers.sawAd) assertThat(s).isEqualTo(Security.INSECURE);
    }

    private static void lookupForm(String name) {
        assertThat(name).doesNotEndWith(".").isEqualTo(name.toLowerCase(java.util.Locale.ROOT));
    }

    /** The fuzzed messages, one per query in the order asked; a failure once they run out. */
    static final class Answers implements Resolver {
        private final List<byte[]> messages = new ArrayList<>();
        private final List<Message> parsed = new ArrayList<>();
        final int octets;
        boolean sawAd;
        private int next;

        Answers(byte[] wire) {
            octets = wire.length;
            for (int i = 0; i < wire.length; ) {
                int len = i + 1 < wire.length ? (wire[i] & 0xff) << 8 | wire[i + 1] & 0xff : 0;
                i += 2;
                messages.add(Arrays.copyOfRange(wire, Math.min(i, wire.length), Math.min(i + len, wire.length)));
                i += len;
            }
        }

        /** How many records of {@code type} the responses given so far held. */
        synchronized int count(int type) {
            int n = 0;
            for (Message m : parsed) {
                for (int section : new int[] {Section.ANSWER, Section.AUTHORITY, Section.ADDITIONAL}) {
                    for (Record r : m.getSection(section)) if (r.getType() == type) n++;
                }
            }
            return n;
        }

        @Override
        public synchronized CompletionStage<Message> sendAsync(Message query, Executor executor) {
            // out of fuzzed answers: a plain failure, not a SocketTimeoutException, which DnsResolver reports as a
            // timeout, the very thing this target must never see (it would be a lookup that hangs)
            if (next >= messages.size()) return CompletableFuture.failedFuture(new IOException("no more answers"));
            Message m;
            try {
                m = new Message(messages.get(next++));
            } catch (IOException e) {
                return CompletableFuture.failedFuture(e); // what a SimpleResolver makes of bytes it cannot parse
            }
            m.getHeader().setID(query.getHeader().getID());
            m.removeAllRecords(Section.QUESTION);
            m.addRecord(query.getQuestion(), Section.QUESTION);
            sawAd |= m.getHeader().getFlag(Flags.AD);
            parsed.add(m);
            return CompletableFuture.completedFuture(m);
        }

        @Override public CompletionStage<Message> sendAsync(Message query) { return sendAsync(query, Runnable::run); }
        @Override public void setPort(int port) { }
        @Override public void setTCP(boolean flag) { }
        @Override public void setIgnoreTruncation(boolean flag) { }
        @Override public void setEDNS(int version, int payload, int flags, List<EDNSOption> options) { }
        @Override public void setTSIGKey(TSIG key) { }
        @Override public void setTimeout(Duration timeout) { }
    }

    /** Well-formed answers of each kind, so the fuzzer starts from what servers send. */
    static Stream<byte[]> seeds() throws IOException {
        Name domain = Name.fromConstantString("example.com.");
        Name mx = Name.fromConstantString("mx.example.com.");
        Name alias = Name.fromConstantString("alias.example.net.");
        Name tlsa = Name.fromConstantString("_25._tcp.mx.example.com.");
        Name sts = Name.fromConstantString("_mta-sts.example.com.");
        Name ptr = ReverseMap.fromAddress(CLIENT);
        Record soa = new SOARecord(domain, DClass.IN, 300, mx, Name.fromConstantString("hostmaster.example.com."),
                1, 3600, 600, 86400, 300);
        List<byte[]> seeds = new ArrayList<>();
        for (int ad = 0; ad < 2; ad++) {
            seeds.add(input(0, ad, answer(ad, Rcode.NOERROR, new MXRecord(domain, DClass.IN, 300, 10, mx),
                    new MXRecord(domain, DClass.IN, 300, 20, Name.fromConstantString("MX2.example.com.")))));
            seeds.add(input(0, ad, answer(ad, Rcode.NOERROR, new MXRecord(domain, DClass.IN, 300, 0, Name.root))));
            seeds.add(input(0, ad, answer(ad, Rcode.NXDOMAIN, soa)));
            seeds.add(input(1, ad, answer(ad, Rcode.NOERROR, new CNAMERecord(mx, DClass.IN, 60, alias),
                    new ARecord(alias, DClass.IN, 60, InetAddress.ofLiteral("192.0.2.25"))),
                    answer(ad, Rcode.NOERROR, new AAAARecord(mx, DClass.IN, 60, InetAddress.ofLiteral("2001:db8::25")))));
            seeds.add(input(2, ad, answer(ad, Rcode.NOERROR,
                    new TLSARecord(tlsa, DClass.IN, 300, 3, 1, 1, new byte[32]))));
            seeds.add(input(3, ad, answer(ad, Rcode.NOERROR, new TXTRecord(sts, DClass.IN, 300,
                    List.of("v=STSv1; ", "id=20261201;")))));
            seeds.add(input(4, ad, answer(ad, Rcode.NOERROR, new PTRRecord(ptr, DClass.IN, 300, mx))));
        }
        return seeds.stream();
    }

    private static byte[] answer(int ad, int rcode, Record... records) {
        Message m = new Message();
        m.getHeader().setFlag(Flags.QR);
        m.getHeader().setFlag(Flags.RA);
        if (ad == 1) m.getHeader().setFlag(Flags.AD);
        m.getHeader().setRcode(rcode);
        m.addRecord(Record.newRecord(records[0].getName(), records[0].getType(), DClass.IN), Section.QUESTION);
        for (Record r : records) m.addRecord(r, r instanceof SOARecord ? Section.AUTHORITY : Section.ANSWER);
        return m.toWire();
    }

    private static byte[] input(int lookup, int ad, byte[]... messages) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(lookup);
        out.write(ad);
        for (byte[] m : messages) {
            out.write(m.length >> 8);
            out.write(m.length);
            out.writeBytes(m);
        }
        return out.toByteArray();
    }
}
