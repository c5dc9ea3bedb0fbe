package dev.postern.dns;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.BindException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.CNAMERecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.ExtendedErrorCodeOption;
import org.xbill.DNS.Flags;
import org.xbill.DNS.MXRecord;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.PTRRecord;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.ReverseMap;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.TLSARecord;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;

/**
 * An in-process authoritative DNS server for tests: real DNS wire protocol over UDP and TCP on 127.0.0.1, same
 * port for both. Names with no records answer NXDOMAIN, names with only other types NODATA; in-zone CNAMEs are
 * followed. UDP answers larger than the client's limit (512 bytes, or its EDNS payload size) come back with TC
 * set and no records, so the client must retry over TCP.
 *
 * <pre>{@code
 * try (var dns = TestDnsServer.start()) {
 *     dns.mx("example.test", 10, "mx.example.test").a("mx.example.test", "127.0.0.1");
 *     var resolver = new DnsResolver(List.of(dns.address()), Duration.ofSeconds(2));
 * }
 * }</pre>
 */
public final class TestDnsServer implements AutoCloseable {

    /** The TTL of records added from now on ({@link #ttl}): 300 s, or 0 for a test that changes its answers. */
    private volatile long ttl = 300;
    private static final int PLAIN_UDP_LIMIT = 512;
    private static final int OUR_EDNS_PAYLOAD = 1232;

    private final Map<Name, List<Record>> zone = new ConcurrentHashMap<>();
    private final Set<Question> servfail = ConcurrentHashMap.newKeySet();
    private final Set<Question> bogus = ConcurrentHashMap.newKeySet();
    private final Set<Name> silent = ConcurrentHashMap.newKeySet();
    /** When each name was first asked about (any type), for tests that time a resolver's patience. */
    private final java.util.Map<Name, java.time.Instant> firstAsked = new ConcurrentHashMap<>();
    /** Names whose answers carry AD, as a validating resolver marks what it validated (RFC 4035 §3.2.3). */
    private final Set<Name> authentic = ConcurrentHashMap.newKeySet();
    private volatile boolean allAuthentic;
    private final Set<Socket> connections = ConcurrentHashMap.newKeySet();
    private final AtomicInteger udpQueries = new AtomicInteger();
    private final AtomicInteger tcpQueries = new AtomicInteger();
    private final DatagramSocket udp;
    private final ServerSocket tcp;
    private volatile boolean closed;

    private TestDnsServer(DatagramSocket udp, ServerSocket tcp) {
        this.udp = udp;
        this.tcp = tcp;
        Thread.ofVirtual().name("test-dns-udp").start(this::serveUdp);
        Thread.ofVirtual().name("test-dns-tcp").start(this::acceptTcp);
    }

    /** Binds UDP and TCP to the same random port on 127.0.0.1 and starts serving. */
    public static TestDnsServer start() throws IOException {
        InetAddress loopback = InetAddress.getByAddress(new byte[] {127, 0, 0, 1});
        for (int attempt = 0; ; attempt++) {
            DatagramSocket udp = new DatagramSocket(new InetSocketAddress(loopback, 0));
            try {
                ServerSocket tcp = new ServerSocket();
                try {
                    tcp.bind(new InetSocketAddress(loopback, udp.getLocalPort()));
                    return new TestDnsServer(udp, tcp);
                } catch (IOException e) {
                    tcp.close();
                    throw e;
                }
            } catch (BindException e) {
                udp.close(); // TCP port already taken by someone else: try another random port
                if (attempt == 20) {
                    throw e;
                }
            }
        }
    }

    public int port() { return udp.getLocalPort(); }

    public InetSocketAddress address() { return new InetSocketAddress(udp.getLocalAddress(), port()); }

    /** When a question about {@code name} first arrived, null if none has. */
    public java.time.Instant firstAsked(String name) {
        return firstAsked.get(name(name));
    }

    /** Queries received over UDP and TCP so far (tests use these to prove the TCP path was taken). */
    public int udpQueryCount() { return udpQueries.get(); }

    public int tcpQueryCount() { return tcpQueries.get(); }

    public TestDnsServer add(Record record) {
        zone.computeIfAbsent(record.getName(), n -> new CopyOnWriteArrayList<>()).add(record);
        return this;
    }

    /**
     * The TTL of the records added after this call. A test that changes an answer mid-test uses 0, so that a
     * resolver's cache (which keeps answers for their TTL, on the real clock) asks again, as it would once a real
     * TTL ran out.
     */
    public TestDnsServer ttl(long seconds) {
        this.ttl = seconds;
        return this;
    }

    public TestDnsServer mx(String domain, int preference, String host) {
        return add(new MXRecord(name(domain), DClass.IN, ttl, preference, name(host)));
    }

    /** RFC 7505 null MX: {@code domain MX 0 .}. */
    public TestDnsServer nullMx(String domain) {
        return add(new MXRecord(name(domain), DClass.IN, ttl, 0, Name.root));
    }

    public TestDnsServer a(String host, String ip) {
        return add(new ARecord(name(host), DClass.IN, ttl, InetAddress.ofLiteral(ip)));
    }

    public TestDnsServer aaaa(String host, String ip) {
        return add(new AAAARecord(name(host), DClass.IN, ttl, InetAddress.ofLiteral(ip)));
    }

    /** {@code ip}'s PTR record in in-addr.arpa or ip6.arpa: {@code 1.0.0.127.in-addr.arpa PTR host}. */
    public TestDnsServer ptr(String ip, String host) {
        return add(new PTRRecord(ReverseMap.fromAddress(InetAddress.ofLiteral(ip)), DClass.IN, ttl, name(host)));
    }

    /** A TXT record of one or more strings (each at most 255 octets), joined by resolvers in order. */
    public TestDnsServer txt(String name, String... strings) {
        return add(new TXTRecord(name(name), DClass.IN, ttl, List.of(strings)));
    }

    /** Removes every record of {@code type} (a {@link Type} constant) at {@code name}. */
    public TestDnsServer remove(String name, int type) {
        List<Record> records = zone.get(name(name));
        if (records != null) records.removeIf(r -> r.getType() == type);
        return this;
    }

    public TestDnsServer cname(String alias, String target) {
        return add(new CNAMERecord(name(alias), DClass.IN, ttl, name(target)));
    }

    /** {@code _PORT._tcp.HOST TLSA usage selector mtype data}: {@code name} is the whole owner name. */
    public TestDnsServer tlsa(String name, int usage, int selector, int matchingType, byte[] data) {
        return add(new TLSARecord(name(name), DClass.IN, ttl, usage, selector, matchingType, data));
    }

    /**
     * Sets AD on answers about these names, as a validating resolver does for what it validated: an answer has AD
     * when every name it involves (the question and each CNAME target) is authentic, NXDOMAIN and NODATA included.
     */
    public TestDnsServer authentic(String... names) {
        for (String n : names) authentic.add(name(n));
        return this;
    }

    /** AD on every answer ({@code true}) or only on those of {@link #authentic} names ({@code false}). */
    public TestDnsServer allAuthentic(boolean on) {
        allAuthentic = on;
        return this;
    }

    /** Answer SERVFAIL for every question about {@code name}. */
    public TestDnsServer servfail(String name) {
        return servfail(name, Type.ANY);
    }

    /** Answer SERVFAIL for questions of {@code type} (a {@link Type} constant) about {@code name}. */
    public TestDnsServer servfail(String name, int type) {
        servfail.add(new Question(name(name), type));
        return this;
    }

    /**
     * Answer questions of {@code type} about {@code name} as a validating resolver answers a bogus one: SERVFAIL with
     * the extended DNS error "DNSSEC Bogus" (RFC 8914 §4.7), as Unbound does.
     */
    public TestDnsServer bogus(String name, int type) {
        bogus.add(new Question(name(name), type));
        return this;
    }

    private record Question(Name name, int type) {}

    /** Never answer questions about {@code name} (the client times out). */
    public TestDnsServer silent(String name) {
        silent.add(name(name));
        return this;
    }

    /** Answers questions about {@code name} again: forgets its SERVFAIL (of any type), bogus answers and silence. */
    public TestDnsServer heal(String name) {
        Name n = name(name);
        servfail.removeIf(q -> q.name().equals(n));
        bogus.removeIf(q -> q.name().equals(n));
        silent.remove(n);
        return this;
    }

    /** Forgets all records, SERVFAIL and silent names; counters keep running. */
    public TestDnsServer clear() {
        zone.clear();
        servfail.clear();
        bogus.clear();
        silent.clear();
        authentic.clear();
        allAuthentic = false;
        return this;
    }

    @Override
    public void close() {
        closed = true;
        udp.close();
        try {
            tcp.close();
        } catch (IOException ignored) {
            // closing anyway
        }
        for (Socket s : connections) {
            try {
                s.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
    }

    private static Name name(String s) {
        try {
            return Name.fromString(s, Name.root);
        } catch (TextParseException e) {
            throw new IllegalArgumentException("bad DNS name: " + s, e);
        }
    }

    private void serveUdp() {
        byte[] buffer = new byte[65535];
        while (!closed) {
            DatagramPacket packet = new DatagramPacket(buffer, buffer.length);
            try {
                udp.receive(packet);
                udpQueries.incrementAndGet();
                Message query = new Message(Arrays.copyOf(packet.getData(), packet.getLength()));
                byte[] reply = answerUdp(query);
                if (reply != null) {
                    udp.send(new DatagramPacket(reply, reply.length, packet.getSocketAddress()));
                }
            } catch (IOException e) {
                if (closed) {
                    return;
                }
                // Unparseable datagram: ignore it, like a real server would.
            }
        }
    }

    private byte[] answerUdp(Message query) {
        Message response = answer(query);
        if (response == null) {
            return null;
        }
        byte[] wire = response.toWire();
        OPTRecord opt = query.getOPT();
        int limit = opt == null ? PLAIN_UDP_LIMIT : Math.max(PLAIN_UDP_LIMIT, opt.getPayloadSize());
        if (wire.length <= limit) {
            return wire;
        }
        // Too big for this client over UDP: header and question only, TC set (RFC 2181 §9).
        Message truncated = skeleton(query);
        truncated.getHeader().setRcode(response.getRcode());
        truncated.getHeader().setFlag(Flags.TC);
        return truncated.toWire();
    }

    private void acceptTcp() {
        while (!closed) {
            try {
                Socket socket = tcp.accept();
                connections.add(socket);
                Thread.ofVirtual().name("test-dns-tcp-conn").start(() -> serveTcp(socket));
            } catch (IOException e) {
                if (closed) {
                    return;
                }
            }
        }
    }

    /** RFC 1035 §4.2.2 / RFC 7766: two-byte length prefix, several queries per connection allowed. */
    private void serveTcp(Socket socket) {
        try (socket;
             DataInputStream in = new DataInputStream(socket.getInputStream());
             DataOutputStream out = new DataOutputStream(socket.getOutputStream())) {
            while (!closed) {
                byte[] bytes = new byte[in.readUnsignedShort()];
                in.readFully(bytes);
                tcpQueries.incrementAndGet();
                Message response = answer(new Message(bytes));
                if (response == null) {
                    continue;
                }
                byte[] wire = response.toWire();
                out.writeShort(wire.length);
                out.write(wire);
                out.flush();
            }
        } catch (EOFException e) {
            // client closed the connection
        } catch (IOException e) {
            // connection reset or server closing
        } finally {
            connections.remove(socket);
        }
    }

    /** The response to {@code query} with AD set when all it involves is authentic, or null when silent. */
    private Message answer(Message query) {
        if (query.getQuestion() != null) firstAsked.putIfAbsent(query.getQuestion().getName(), java.time.Instant.now());
        Message response = answerRecords(query);
        if (response == null || response.getQuestion() == null) return response;
        boolean ad = allAuthentic || (authentic.contains(response.getQuestion().getName())
                && response.getSection(Section.ANSWER).stream().allMatch(r -> authentic.contains(r.getName())));
        if (ad && response.getRcode() != Rcode.SERVFAIL) response.getHeader().setFlag(Flags.AD);
        return response;
    }

    /** The response to {@code query}, or null when the name is silent. */
    private Message answerRecords(Message query) {
        Message response = skeleton(query);
        Record question = query.getQuestion();
        if (question == null) {
            response.getHeader().setRcode(Rcode.FORMERR);
            return response;
        }
        if (query.getOPT() != null) {
            response.addRecord(new OPTRecord(OUR_EDNS_PAYLOAD, 0, 0, 0), Section.ADDITIONAL);
        }
        int type = question.getType();
        Name current = question.getName();
        for (int hops = 0; hops < 8; hops++) {
            if (silent.contains(current)) {
                return null;
            }
            if (bogus.contains(new Question(current, type))) {
                response.removeAllRecords(Section.ADDITIONAL);
                response.addRecord(new OPTRecord(OUR_EDNS_PAYLOAD, 0, 0, 0, List.of(new ExtendedErrorCodeOption(
                        ExtendedErrorCodeOption.DNSSEC_BOGUS, "signature invalid"))), Section.ADDITIONAL);
                response.getHeader().setRcode(Rcode.SERVFAIL);
                return response;
            }
            if (servfail.contains(new Question(current, Type.ANY)) || servfail.contains(new Question(current, type))) {
                response.getHeader().setRcode(Rcode.SERVFAIL);
                return response;
            }
            List<Record> records = zone.getOrDefault(current, List.of());
            if (records.isEmpty()) {
                if (!hasDescendants(current)) {
                    response.getHeader().setRcode(Rcode.NXDOMAIN);
                }
                return response; // NXDOMAIN, or NODATA for an empty non-terminal
            }
            List<Record> matching = records.stream().filter(r -> r.getType() == type || type == Type.ANY).toList();
            if (!matching.isEmpty()) {
                matching.forEach(r -> response.addRecord(r, Section.ANSWER));
                return response;
            }
            Record alias = records.stream().filter(r -> r.getType() == Type.CNAME).findFirst().orElse(null);
            if (alias == null) {
                return response; // NODATA
            }
            response.addRecord(alias, Section.ANSWER);
            current = ((CNAMERecord) alias).getTarget();
        }
        return response; // CNAME loop: give what we have
    }

    private boolean hasDescendants(Name name) {
        return zone.keySet().stream().anyMatch(n -> !n.equals(name) && n.subdomain(name));
    }

    /** Empty response echoing id, opcode, RD and the question; AA set since we are authoritative. */
    private static Message skeleton(Message query) {
        Message response = new Message(query.getHeader().getID());
        response.getHeader().setOpcode(query.getHeader().getOpcode());
        response.getHeader().setFlag(Flags.QR);
        response.getHeader().setFlag(Flags.AA);
        if (query.getHeader().getFlag(Flags.RD)) {
            response.getHeader().setFlag(Flags.RD);
        }
        if (query.getQuestion() != null) {
            response.addRecord(query.getQuestion(), Section.QUESTION);
        }
        return response;
    }
}
