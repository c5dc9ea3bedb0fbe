package dev.postern.dns;

import dev.postern.names.Domains;
import dev.postern.names.InvalidDomainException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Pattern;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.CNAMERecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.ExtendedResolver;
import org.xbill.DNS.MXRecord;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.PTRRecord;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Resolver;
import org.xbill.DNS.ResolverConfig;
import org.xbill.DNS.ReverseMap;
import org.xbill.DNS.Section;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;

/**
 * Looks up what mail routing needs (MX, A, AAAA) and the PTR names of inbound clients with dnsjava, against configured
 * servers (tests point it at a server on loopback) or the system's. Thread-safe; one instance per gateway.
 *
 * <p>Queries go straight to the servers with {@link Resolver#sendAsync(Message)} and the rcode is interpreted
 * here, so NXDOMAIN, NODATA and failures stay distinct and no dnsjava cache is shared between instances.
 * Truncated UDP answers are retried over TCP by {@link SimpleResolver}. Every rcode other than NOERROR and
 * NXDOMAIN (SERVFAIL, REFUSED, ...) counts as temporary: deferring mail is safer than bouncing it.
 */
public final class DnsResolver {

    /** Attempts per server within the overall timeout, so one lost datagram does not fail a lookup. */
    private static final int ATTEMPTS = 3;
    /** Bound on CNAME chains followed inside one answer. */
    private static final int MAX_CHAIN = 8;
    /** Slack past the resolver's own deadline before we give up waiting for its future. */
    private static final Duration GRACE = Duration.ofMillis(250);

    private static final Pattern IPV4_LITERAL = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");

    /**
     * Where DNSSEC answers come from: {@code VALIDATE} Postern validates itself, from the root trust anchor or
     * {@code trustAnchorFile}; {@code TRUST_AD} the (loopback) resolver validates and its AD bit is believed;
     * {@code OFF} every answer is insecure (DANE never applies).
     */
    public enum Validation { VALIDATE, TRUST_AD, OFF }

    /**
     * What the resolver is built from ({@code [dns]}).
     *
     * @param servers         empty: the system's resolvers
     * @param trustAnchorFile DS or DNSKEY records in zone-file form, the anchors under {@code VALIDATE}; null: the
     *                        root's
     */
    public record Settings(List<InetSocketAddress> servers, Duration timeout, Validation validation,
                           java.nio.file.Path trustAnchorFile) {
        public Settings { servers = List.copyOf(servers); }
    }

    private final Resolver resolver;
    private final Duration timeout;
    private final Validation validation;
    /** No servers were configured: the system's resolvers (or 127.0.0.1:53 when it has none) are asked. */
    private final boolean systemServers;

    /** {@code servers} empty means the system resolvers (/etc/resolv.conf). */
    public DnsResolver(List<InetSocketAddress> servers, Duration timeout) {
        this(new Settings(servers, timeout, Validation.OFF, null));
    }

    public DnsResolver(Settings settings) {
        List<InetSocketAddress> servers = settings.servers();
        Duration timeout = settings.timeout();
        Objects.requireNonNull(servers, "servers");
        Objects.requireNonNull(timeout, "timeout");
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("timeout must be positive: " + timeout);
        }
        List<InetSocketAddress> targets = servers.isEmpty() ? systemServers() : List.copyOf(servers);
        Duration perAttempt = timeout.dividedBy(ATTEMPTS);
        List<Resolver> simple = new ArrayList<>();
        for (InetSocketAddress target : targets) {
            SimpleResolver r = new SimpleResolver(target);
            r.setTimeout(perAttempt);
            simple.add(r);
        }
        ExtendedResolver extended = new ExtendedResolver(simple);
        extended.setTimeout(timeout); // overall deadline across servers and attempts
        extended.setRetries(ATTEMPTS);
        this.resolver = extended;
        this.timeout = timeout;
        this.systemServers = servers.isEmpty();
        this.validation = settings.validation();
    }

    /** How this resolver decides whether an answer is secure. */
    public Validation validation() { return validation; }

    /** True when no servers were configured and the system's resolvers are asked. */
    public boolean usesSystemServers() { return systemServers; }

    /** The overall deadline of one lookup (the configured {@code [dns] timeout}). */
    public Duration timeout() { return timeout; }

    private static List<InetSocketAddress> systemServers() {
        List<InetSocketAddress> system = ResolverConfig.getCurrentConfig().servers();
        return system.isEmpty()
                ? List.of(new InetSocketAddress(InetAddress.getLoopbackAddress(), SimpleResolver.DEFAULT_PORT))
                : system;
    }

    /** MX records of {@code domain}, sorted by preference (ties in random order, RFC 5321 §5.1). */
    public MxResult lookupMx(String domain) throws DnsException {
        Name name = parseName(domain);
        Message response = await(send(name, Type.MX), deadline());
        Security security = security(response);
        if (response.getRcode() == Rcode.NXDOMAIN) {
            return new MxResult.NoSuchDomain(security);
        }
        List<MXRecord> records = answers(response, name, MXRecord.class);
        if (records.isEmpty()) {
            return new MxResult.NoMx(security);
        }
        // RFC 7505: "0 ." means no mail; a root target mixed in with real hosts is ignored.
        List<MXRecord> usable = records.stream().filter(r -> !r.getTarget().equals(Name.root)).toList();
        if (usable.isEmpty()) {
            return new MxResult.NullMx(security);
        }
        return new MxResult.Hosts(sortByPreference(usable), security);
    }

    private static List<MxResult.MxHost> sortByPreference(List<MXRecord> records) {
        List<MxResult.MxHost> hosts = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (MXRecord r : records) {
            String host = hostName(r.getTarget());
            if (seen.add(r.getPriority() + " " + host)) {
                hosts.add(new MxResult.MxHost(r.getPriority(), host));
            }
        }
        // Shuffle first, then a stable sort: equal preferences end up in random order.
        Collections.shuffle(hosts, ThreadLocalRandom.current());
        hosts.sort(Comparator.comparingInt(MxResult.MxHost::preference));
        return hosts;
    }

    /** A and AAAA addresses of {@code host} (IPv4 first); empty when the name has none (NXDOMAIN or NODATA). */
    public List<InetAddress> lookupAddresses(String host) throws DnsException {
        return addresses(host).values();
    }

    /**
     * A and AAAA addresses of {@code host} with their security and the name CNAMEs led to. An IP literal is its own
     * answer, insecure (nothing in DNS vouches for it).
     */
    public Addresses resolve(String host) throws DnsException {
        List<InetAddress> found = addresses(host).values();
        if (validation != Validation.TRUST_AD || ipLiteral(host) != null) {
            // Contract placeholder (issue 13): the security and canonical name come with the dnsjava rewrite.
            return new Addresses(found, Security.INSECURE, host);
        }
        // Interim, until the validating rewrite: the A answer's AD bit and CNAME chain stand for both families.
        Name name = parseName(host);
        Message response = await(send(name, Type.A), deadline());
        Name current = name;
        for (int i = 0; i < MAX_CHAIN; i++) {
            Name owner = current;
            Name next = response.getSection(Section.ANSWER).stream()
                    .filter(r -> r instanceof CNAMERecord && r.getName().equals(owner))
                    .map(r -> ((CNAMERecord) r).getTarget()).findFirst().orElse(null);
            if (next == null) break;
            current = next;
        }
        return new Addresses(found, security(response), hostName(current));
    }

    /**
     * The TLSA records of {@code _PORT._tcp.HOST} (RFC 6698 §3), CNAMEs followed (RFC 7672 §2.2.2 also asks about
     * the CNAME-expanded host: the caller does that with {@link Addresses#canonicalName}).
     */
    public TlsaResult lookupTlsa(String host, int port) throws DnsException {
        String queried = "_" + port + "._tcp." + host;
        Name name = parseName(queried);
        Message response = await(send(name, Type.TLSA), deadline());
        Security security = security(response);
        if (response.getRcode() == Rcode.NXDOMAIN) {
            return new TlsaResult(queried, queried, List.of(), security);
        }
        List<org.xbill.DNS.TLSARecord> records = answers(response, name, org.xbill.DNS.TLSARecord.class);
        String owner = records.isEmpty() ? queried : hostName(records.getFirst().getName());
        return new TlsaResult(queried, owner, records.stream().map(r -> new TlsaRecord(r.getCertificateUsage(),
                r.getSelector(), r.getMatchingType(), r.getCertificateAssociationData())).toList(), security);
    }

    /**
     * The TXT records of {@code name}, each one's strings joined (RFC 7208 §3.3, RFC 8461 §3.1); empty when there
     * are none (NXDOMAIN or NODATA). Strings are decoded as ISO-8859-1 so that no octet is lost.
     */
    public List<String> lookupTxt(String name) throws DnsException {
        Name n = parseName(name);
        Message response = await(send(n, Type.TXT), deadline());
        if (response.getRcode() == Rcode.NXDOMAIN) {
            return List.of();
        }
        return answers(response, n, org.xbill.DNS.TXTRecord.class).stream()
                .map(r -> {
                    StringBuilder joined = new StringBuilder();
                    for (byte[] part : r.getStringsAsByteArrays()) {
                        joined.append(new String(part, java.nio.charset.StandardCharsets.ISO_8859_1));
                    }
                    return joined.toString();
                }).toList();
    }

    /** Under {@code TRUST_AD}, the resolver's AD bit; otherwise insecure (until the validator is in place). */
    private Security security(Message response) {
        return validation == Validation.TRUST_AD && response.getHeader().getFlag(org.xbill.DNS.Flags.AD)
                ? Security.SECURE : Security.INSECURE;
    }

    /**
     * The names the PTR records of {@code address} give (RFC 1035 §3.5, RFC 3596 §2.5), in lookup form (lower case,
     * no trailing dot), CNAMEs followed (RFC 2317 classless delegation); empty when there is none (NXDOMAIN or
     * NODATA). A name is not checked here: what a PTR says is the address owner's claim, not a proof
     * ({@link ReverseNames} checks it the other way round).
     */
    public List<String> lookupPtr(InetAddress address) throws DnsException {
        return ptr(address).values();
    }

    /** Values of one lookup and the smallest TTL of the records that gave them, in seconds (-1 for none). */
    record Answer<T>(List<T> values, long ttl) {}

    Answer<String> ptr(InetAddress address) throws DnsException {
        Name name = ReverseMap.fromAddress(address);
        Message response = await(send(name, Type.PTR), deadline());
        if (response.getRcode() == Rcode.NXDOMAIN) {
            return new Answer<>(List.of(), -1);
        }
        List<PTRRecord> records = answers(response, name, PTRRecord.class);
        List<String> names = records.stream().map(r -> hostName(r.getTarget())).distinct().toList();
        return new Answer<>(names, minTtl(records));
    }

    Answer<InetAddress> addresses(String host) throws DnsException {
        InetAddress literal = ipLiteral(host);
        if (literal != null) {
            return new Answer<>(List.of(literal), -1);
        }
        Name name = parseName(host);
        long deadline = deadline();
        // Both families in flight at once: a lookup costs one round trip, not two.
        CompletableFuture<Message> v4 = send(name, Type.A);
        CompletableFuture<Message> v6 = send(name, Type.AAAA);
        Family ipv4 = family(v4, deadline, name, ARecord.class);
        Family ipv6 = family(v6, deadline, name, AAAARecord.class);

        List<InetAddress> addresses = new ArrayList<>(ipv4.addresses());
        addresses.addAll(ipv6.addresses());
        long ttl = ipv4.ttl() < 0 ? ipv6.ttl() : ipv6.ttl() < 0 ? ipv4.ttl() : Math.min(ipv4.ttl(), ipv6.ttl());
        if (!addresses.isEmpty() || ipv4.nxdomain() || ipv6.nxdomain()) {
            return new Answer<>(List.copyOf(addresses), ttl);
        }
        // Nothing found: only final if neither family failed, else the failed one might have had addresses.
        DnsException failure = ipv4.failure() != null ? ipv4.failure() : ipv6.failure();
        if (failure != null) {
            throw failure;
        }
        return new Answer<>(List.of(), -1);
    }

    /** One address family's outcome: addresses (and their smallest TTL), or NXDOMAIN, or a (temporary) failure. */
    private record Family(List<InetAddress> addresses, long ttl, boolean nxdomain, DnsException failure) {}

    private Family family(CompletableFuture<Message> future, long deadline, Name name, Class<? extends Record> type) {
        try {
            Message response = await(future, deadline);
            if (response.getRcode() == Rcode.NXDOMAIN) {
                return new Family(List.of(), -1, true, null);
            }
            List<? extends Record> records = answers(response, name, type);
            List<InetAddress> addresses = records.stream()
                    .map(r -> r instanceof ARecord a ? a.getAddress() : ((AAAARecord) r).getAddress())
                    .toList();
            return new Family(addresses, minTtl(records), false, null);
        } catch (DnsException e) {
            return new Family(List.of(), -1, false, e);
        }
    }

    private static long minTtl(List<? extends Record> records) {
        return records.stream().mapToLong(Record::getTTL).min().orElse(-1);
    }

    private CompletableFuture<Message> send(Name name, int type) {
        Message query = Message.newQuery(Record.newRecord(name, type, DClass.IN));
        if (validation == Validation.TRUST_AD) query.getHeader().setFlag(org.xbill.DNS.Flags.AD); // RFC 6840 §5.7
        return resolver.sendAsync(query).toCompletableFuture();
    }

    private long deadline() {
        return System.nanoTime() + timeout.plus(GRACE).toNanos();
    }

    /** Waits for a response; returns it only for NOERROR and NXDOMAIN, anything else is a temporary failure. */
    private static Message await(CompletableFuture<Message> future, long deadline) throws DnsException {
        Message response;
        try {
            response = future.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            future.cancel(true);
            throw new DnsException("DNS timeout", true);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            future.cancel(true);
            throw new DnsException("interrupted during DNS lookup", true);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            throw new DnsException("DNS query failed: " + cause, true);
        }
        int rcode = response.getRcode();
        if (rcode != Rcode.NOERROR && rcode != Rcode.NXDOMAIN) {
            throw new DnsException("DNS server answered " + Rcode.string(rcode) + " for "
                    + response.getQuestion().getName(), true);
        }
        return response;
    }

    /** Answer records of {@code type} owned by {@code name} or by a name it is a CNAME (chain) for. */
    private static <T extends Record> List<T> answers(Message response, Name name, Class<T> type) {
        List<Record> answer = response.getSection(Section.ANSWER);
        Set<Name> owners = new HashSet<>();
        owners.add(name);
        Name current = name;
        for (int i = 0; i < MAX_CHAIN; i++) {
            Name owner = current;
            Name next = answer.stream()
                    .filter(r -> r instanceof CNAMERecord && r.getName().equals(owner))
                    .map(r -> ((CNAMERecord) r).getTarget())
                    .findFirst().orElse(null);
            if (next == null || !owners.add(next)) {
                break;
            }
            current = next;
        }
        return answer.stream().filter(type::isInstance).filter(r -> owners.contains(r.getName())).map(type::cast)
                .toList();
    }

    private static Name parseName(String domain) throws DnsException {
        if (domain == null || domain.isBlank()) {
            throw new DnsException("empty domain name", false);
        }
        try {
            return Name.fromString(Domains.toAscii(domain.strip()), Name.root);
        } catch (InvalidDomainException | TextParseException e) {
            throw new DnsException("malformed domain name: " + domain + " (" + e.getMessage() + ")", false);
        }
    }

    /** {@code host} as an IP address if it is an IPv4 dotted quad or an (optionally bracketed) IPv6 literal. */
    private static InetAddress ipLiteral(String host) {
        if (host == null) {
            return null;
        }
        String h = host.strip();
        if (h.startsWith("[") && h.endsWith("]")) {
            h = h.substring(1, h.length() - 1);
        }
        if (!h.contains(":") && !IPV4_LITERAL.matcher(h).matches()) {
            return null;
        }
        try {
            return InetAddress.ofLiteral(h);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private static String hostName(Name name) {
        return name.toString(true).toLowerCase(Locale.ROOT);
    }
}
