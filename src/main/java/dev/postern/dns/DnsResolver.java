package dev.postern.dns;

import dev.postern.names.Domains;
import dev.postern.names.InvalidDomainException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Pattern;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DNSKEYRecord;
import org.xbill.DNS.DSRecord;
import org.xbill.DNS.ExtendedErrorCodeOption;
import org.xbill.DNS.ExtendedFlags;
import org.xbill.DNS.ExtendedResolver;
import org.xbill.DNS.MXRecord;
import org.xbill.DNS.Master;
import org.xbill.DNS.Name;
import org.xbill.DNS.PTRRecord;
import org.xbill.DNS.Record;
import org.xbill.DNS.Resolver;
import org.xbill.DNS.ResolverConfig;
import org.xbill.DNS.ReverseMap;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.TLSARecord;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;
import org.xbill.DNS.dnssec.ValidatingResolver;
import org.xbill.DNS.lookup.LookupResult;
import org.xbill.DNS.lookup.LookupSession;
import org.xbill.DNS.lookup.NoSuchDomainException;
import org.xbill.DNS.lookup.NoSuchRRSetException;
import org.xbill.DNS.lookup.RedirectLoopException;
import org.xbill.DNS.lookup.RedirectOverflowException;
import org.xbill.DNS.lookup.ServerFailedException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Looks up what mail routing and DANE need (MX, A, AAAA, TLSA, TXT) and the PTR names of inbound clients, against
 * configured servers (tests point it at a server on loopback) or the system's. Thread-safe; one instance per gateway.
 *
 * <p>dnsjava's {@link LookupSession} asks the questions: it follows CNAME and DNAME chains (at most
 * {@value #MAX_CHAIN} links) and caches answers for their TTL, negative ones for their SOA minimum (RFC 2308). Under
 * {@link Validation#VALIDATE} dnsjava's {@link ValidatingResolver} sits between the session and the servers and
 * validates every answer from the trust anchors (the IANA root's, or the configured file's); its AD bit says secure,
 * its SERVFAIL with an extended DNS error (RFC 8914) says bogus. Under {@link Validation#TRUST_AD} the queries carry
 * DO and the (loopback, validating) server's AD bit is believed (RFC 6840 §5.7). The security of each answer is
 * remembered beside the cached records ({@link SecurityCache}), so a cached answer is as secure as the response it
 * came from, and a CNAME chain is as secure as its weakest link.
 *
 * <p>NXDOMAIN, NODATA and failures stay distinct. Every failure (timeout, SERVFAIL, REFUSED, a CNAME loop, a bogus
 * answer) is temporary: deferring mail is safer than bouncing it. Failures are never cached (the validator keeps a
 * bad key for at most a minute). Truncated UDP answers are retried over TCP by {@link SimpleResolver}.
 */
public final class DnsResolver {
    private static final Logger log = LoggerFactory.getLogger(DnsResolver.class);

    /** Attempts per server within the overall timeout, so one lost datagram does not fail a lookup. */
    private static final int ATTEMPTS = 3;
    /** Bound on CNAME/DNAME chains. */
    private static final int MAX_CHAIN = 8;
    /** Slack past the resolver's own deadline before we give up waiting for a lookup. */
    private static final Duration GRACE = Duration.ofMillis(250);
    /** The IANA root trust anchors (KSK-2017, KSK-2024) as DS records. */
    private static final String ROOT_ANCHORS = "root-anchors.txt";
    /** Extended DNS errors (RFC 8914 §4.6-4.13, 4.26) that say an answer failed DNSSEC validation. */
    private static final Set<Integer> BOGUS_CODES = Set.of(ExtendedErrorCodeOption.DNSSEC_INDETERMINATE,
            ExtendedErrorCodeOption.DNSSEC_BOGUS, ExtendedErrorCodeOption.SIGNATURE_EXPIRED,
            ExtendedErrorCodeOption.SIGNATURE_NOT_YET_VALID, ExtendedErrorCodeOption.DNSKEY_MISSING,
            ExtendedErrorCodeOption.RRSIGS_MISSING, ExtendedErrorCodeOption.NO_ZONE_KEY_BIT_SET,
            ExtendedErrorCodeOption.NSEC_MISSING, ExtendedErrorCodeOption.SIGNATURE_EXPIRED_BEFORE_VALID);

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

    private final LookupSession session;
    private final SecurityCache cache;
    private final Duration timeout;
    private final Validation validation;
    /** The zones of the trust anchors (the root, normally); empty unless validating. */
    private final List<Name> anchorZones;
    /** No servers were configured: the system's resolvers (or 127.0.0.1:53 when it has none) are asked. */
    private final boolean systemServers;

    /** {@code servers} empty means the system resolvers (/etc/resolv.conf); no DNSSEC ({@code OFF}). */
    public DnsResolver(List<InetSocketAddress> servers, Duration timeout) {
        this(new Settings(servers, timeout, Validation.OFF, null));
    }

    /**
     * @throws IllegalArgumentException when the trust anchor file cannot be read or holds no DS/DNSKEY record (the
     *                                  config check reports that first)
     */
    public DnsResolver(Settings settings) {
        List<InetSocketAddress> servers = settings.servers();
        Duration timeout = settings.timeout();
        Objects.requireNonNull(servers, "servers");
        Objects.requireNonNull(timeout, "timeout");
        Objects.requireNonNull(settings.validation(), "validation");
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("timeout must be positive: " + timeout);
        }
        this.validation = settings.validation();
        List<InetSocketAddress> targets = servers.isEmpty() ? systemServers() : List.copyOf(servers);
        Duration perAttempt = timeout.dividedBy(ATTEMPTS);
        List<Resolver> simple = new ArrayList<>();
        for (InetSocketAddress target : targets) {
            SimpleResolver r = new SimpleResolver(target);
            r.setTimeout(perAttempt);
            if (validation == Validation.TRUST_AD) {
                r.setEDNS(0, 0, ExtendedFlags.DO, List.of()); // RFC 6840 §5.7: DO asks for the AD bit
            }
            simple.add(r);
        }
        ExtendedResolver extended = new ExtendedResolver(simple);
        extended.setTimeout(timeout); // overall deadline across servers and attempts
        extended.setRetries(ATTEMPTS);
        Resolver head = extended;
        if (validation == Validation.VALIDATE) {
            ValidatingResolver validating = new ValidatingResolver(extended);
            this.anchorZones = loadAnchors(validating, settings.trustAnchorFile());
            head = validating;
        } else {
            this.anchorZones = List.of();
        }
        this.cache = new SecurityCache(validation != Validation.OFF);
        this.session = LookupSession.builder().resolver(head).cache(cache).maxRedirects(MAX_CHAIN).build();
        this.timeout = timeout;
        this.systemServers = servers.isEmpty();
    }

    /**
     * Over {@code head} instead of servers, without trust anchors ({@code VALIDATE} is refused): the fuzz target
     * (dns/DnsAnswerFuzzTest) answers queries in memory with messages made of fuzzed bytes, so everything after the
     * wire (dnsjava's normalisation and CNAME handling, the cache, this class's sorting into results) is fuzzed.
     */
    DnsResolver(Resolver head, Duration timeout, Validation validation) {
        if (validation == Validation.VALIDATE) throw new IllegalArgumentException("validation needs trust anchors");
        this.validation = validation;
        this.anchorZones = List.of();
        this.cache = new SecurityCache(validation != Validation.OFF);
        this.session = LookupSession.builder().resolver(head).cache(cache).maxRedirects(MAX_CHAIN).build();
        this.timeout = timeout;
        this.systemServers = false;
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

    /** Loads the anchors into the validator; returns the zones they are for. */
    private static List<Name> loadAnchors(ValidatingResolver validating, Path file) {
        String source = file == null ? "the built-in root trust anchors" : file.toString();
        try {
            byte[] text;
            if (file == null) {
                try (InputStream in = DnsResolver.class.getResourceAsStream(ROOT_ANCHORS)) {
                    text = Objects.requireNonNull(in, ROOT_ANCHORS).readAllBytes();
                }
            } else {
                text = Files.readAllBytes(file);
            }
            List<Record> anchors = anchors(text);
            if (anchors.isEmpty()) {
                throw new IllegalArgumentException(source + " holds no DS or DNSKEY record");
            }
            // Handed over as dnsjava writes them: with a TTL, which anchor files (Unbound's, IANA's) usually omit.
            StringBuilder normalised = new StringBuilder();
            anchors.forEach(r -> normalised.append(r).append('\n'));
            validating.loadTrustAnchors(new ByteArrayInputStream(
                    normalised.toString().getBytes(java.nio.charset.StandardCharsets.US_ASCII)));
            return anchors.stream().map(Record::getName).distinct().toList();
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read " + source + ": " + e.getMessage(), e);
        }
    }

    /**
     * The DS and DNSKEY records of a trust anchor file (zone-file syntax, absolute names, the TTL optional).
     *
     * @throws IOException when the text is not zone-file syntax
     */
    public static List<Record> anchors(byte[] text) throws IOException {
        List<Record> anchors = new ArrayList<>();
        try (Master master = new Master(new ByteArrayInputStream(text), Name.root, 3600)) {
            for (Record r = master.nextRecord(); r != null; r = master.nextRecord()) {
                if (r instanceof DSRecord || r instanceof DNSKEYRecord) anchors.add(r);
            }
        }
        return anchors;
    }

    /**
     * Whether signed answers can come out secure with these settings: under {@code VALIDATE}, that the trust anchors'
     * DNSKEY RRsets validate through the configured servers (else every signed answer is bogus: a resolver that
     * strips DNSSEC records, a wrong anchor); under {@code TRUST_AD}, that the trusted resolver marks the root's
     * DNSKEY RRset authentic (else it is not validating, and nothing is ever secure). Blocks for up to the lookup
     * timeout; run it off the start-up path.
     *
     * @return one line for the log, or empty when all is well (or DNSSEC is off)
     */
    public Optional<String> trustAnchorProblem() {
        List<Name> zones = validation == Validation.TRUST_AD ? List.of(Name.root) : anchorZones;
        for (Name zone : zones) {
            String problem;
            try {
                Outcome<DNSKEYRecord> keys = lookup(zone, Type.DNSKEY, DNSKEYRecord.class);
                if (keys.security() == Security.SECURE) continue;
                problem = "the DNSKEY records of \"" + zone + "\" came back " + (keys.records().isEmpty()
                        ? "missing" : "unauthenticated");
            } catch (DnsException e) {
                problem = "the DNSKEY records of \"" + zone + "\" cannot be validated: " + e.getMessage();
            }
            if (validation == Validation.TRUST_AD) {
                return Optional.of("[dns] trust_ad = true: " + problem + " (no AD bit: is the resolver validating?); "
                        + "no answer will be secure and DANE will never apply. Turn on DNSSEC validation in the "
                        + "resolver, or use dnssec = \"validate\" without trust_ad");
            }
            return Optional.of("[dns] dnssec = \"validate\": " + problem + "; every signed answer will be bogus and "
                    + "mail to signed domains deferred. Point [dns] servers at resolvers that pass DNSSEC records "
                    + "through (RRSIG, DNSKEY, DS), or set trust_ad = true for a validating resolver on loopback, or "
                    + "dnssec = \"off\"");
        }
        return Optional.empty();
    }

    /** Forgets every cached answer (tests whose clock is not the cache's). */
    void clearCache() {
        cache.clearCache();
    }

    /** MX records of {@code domain}, sorted by preference (ties in random order, RFC 5321 §5.1). */
    public MxResult lookupMx(String domain) throws DnsException {
        Outcome<MXRecord> mx = lookup(parseName(domain), Type.MX, MXRecord.class);
        if (mx.nxdomain()) {
            return new MxResult.NoSuchDomain(mx.security());
        }
        if (mx.records().isEmpty()) {
            return new MxResult.NoMx(mx.security());
        }
        // RFC 7505: "0 ." means no mail; a root target mixed in with real hosts is ignored.
        List<MXRecord> usable = mx.records().stream().filter(r -> !r.getTarget().equals(Name.root)).toList();
        if (usable.isEmpty()) {
            return new MxResult.NullMx(mx.security());
        }
        return new MxResult.Hosts(sortByPreference(usable), mx.security());
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
        Answer<InetAddress> a = addresses(host);
        return new Addresses(a.values(), a.security(), a.owner());
    }

    /**
     * The TLSA records of {@code _PORT._tcp.HOST} (RFC 6698 §3), CNAMEs followed: the owner is the name at the end
     * of the chain (RFC 7672 §2.2.2 also asks about the CNAME-expanded host: the caller does that with
     * {@link Addresses#canonicalName}).
     */
    public TlsaResult lookupTlsa(String host, int port) throws DnsException {
        Name name = tlsaName(host, port);
        Outcome<TLSARecord> tlsa = lookup(name, Type.TLSA, TLSARecord.class);
        return new TlsaResult(hostName(name), hostName(tlsa.owner()), tlsa.records().stream()
                .map(r -> new TlsaRecord(r.getCertificateUsage(), r.getSelector(), r.getMatchingType(),
                        r.getCertificateAssociationData())).toList(), tlsa.security());
    }

    /**
     * The TXT records of {@code name}, each one's strings joined (RFC 7208 §3.3, RFC 8461 §3.1); empty when there
     * are none (NXDOMAIN or NODATA). Strings are decoded as ISO-8859-1 so that no octet is lost.
     */
    public List<String> lookupTxt(String name) throws DnsException {
        return lookup(parseName(name), Type.TXT, TXTRecord.class).records().stream()
                .map(r -> {
                    StringBuilder joined = new StringBuilder();
                    for (byte[] part : r.getStringsAsByteArrays()) {
                        joined.append(new String(part, java.nio.charset.StandardCharsets.ISO_8859_1));
                    }
                    return joined.toString();
                }).toList();
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

    /**
     * Values of one lookup, the smallest TTL of the records that gave them in seconds (-1 for none), their security
     * and the name they were found at (lookup form).
     */
    record Answer<T>(List<T> values, long ttl, Security security, String owner) {}

    Answer<String> ptr(InetAddress address) throws DnsException {
        Outcome<PTRRecord> ptr = lookup(ReverseMap.fromAddress(address), Type.PTR, PTRRecord.class);
        // A PTR to the root names no host ("." came out as a name: found by dns/DnsAnswerFuzzTest)
        List<String> names = ptr.records().stream().filter(r -> !r.getTarget().equals(Name.root))
                .map(r -> hostName(r.getTarget())).distinct().toList();
        return new Answer<>(names, ptr.ttl(), ptr.security(), hostName(ptr.owner()));
    }

    Answer<InetAddress> addresses(String host) throws DnsException {
        InetAddress literal = ipLiteral(host);
        if (literal != null) {
            return new Answer<>(List.of(literal), -1, Security.INSECURE, host.strip());
        }
        Name name = parseName(host);
        long deadline = deadline();
        // Both families in flight at once: a lookup costs one round trip, not two.
        CompletableFuture<LookupResult> v4 = start(name, Type.A);
        CompletableFuture<LookupResult> v6 = start(name, Type.AAAA);
        Family<ARecord> ipv4 = family(v4, deadline, name, Type.A, ARecord.class);
        Family<AAAARecord> ipv6 = family(v6, deadline, name, Type.AAAA, AAAARecord.class);
        // A bogus family is never used, whatever the other found.
        if (ipv4.failure() != null && ipv4.failure().bogus()) throw ipv4.failure();
        if (ipv6.failure() != null && ipv6.failure().bogus()) throw ipv6.failure();

        List<InetAddress> addresses = new ArrayList<>();
        ipv4.records().forEach(r -> addresses.add(r.getAddress()));
        ipv6.records().forEach(r -> addresses.add(r.getAddress()));
        boolean nxdomain = ipv4.outcome() != null && ipv4.outcome().nxdomain()
                || ipv6.outcome() != null && ipv6.outcome().nxdomain();
        if (addresses.isEmpty() && !nxdomain) {
            // Nothing found: only final if neither family failed, else the failed one might have had addresses.
            DnsException failure = ipv4.failure() != null ? ipv4.failure() : ipv6.failure();
            if (failure != null) throw failure;
        }
        // Security and owner from the families that answered (a failed AAAA beside found A records is left out).
        Security security = null;
        Name owner = name;
        long ttl = -1;
        for (Outcome<?> o : new Outcome<?>[] {ipv6.outcome(), ipv4.outcome()}) {
            if (o == null) continue;
            security = security == null ? o.security() : security.and(o.security());
            if (!o.records().isEmpty() || owner.equals(name)) owner = o.owner();
            ttl = ttl < 0 ? o.ttl() : o.ttl() < 0 ? ttl : Math.min(ttl, o.ttl());
        }
        return new Answer<>(List.copyOf(addresses), ttl, security, hostName(owner));
    }

    /** One address family's outcome, or its (temporary) failure. */
    private record Family<T extends Record>(Outcome<T> outcome, DnsException failure) {
        List<T> records() { return outcome == null ? List.of() : outcome.records(); }
    }

    private <T extends Record> Family<T> family(CompletableFuture<LookupResult> future, long deadline, Name name,
                                                int type, Class<T> cls) {
        try {
            return new Family<>(finish(future, deadline, name, type, cls), null);
        } catch (DnsException e) {
            return new Family<>(null, e);
        }
    }

    /**
     * What one lookup found: the records of the type asked at the end of the CNAME chain (empty: NODATA or, with
     * {@code nxdomain}, no such name), that name, and the security of the whole chain.
     */
    private record Outcome<T extends Record>(List<T> records, Name owner, boolean nxdomain, Security security) {
        long ttl() { return records.stream().mapToLong(Record::getTTL).min().orElse(-1); }
    }

    private <T extends Record> Outcome<T> lookup(Name name, int type, Class<T> cls) throws DnsException {
        return finish(start(name, type), deadline(), name, type, cls);
    }

    private CompletableFuture<LookupResult> start(Name name, int type) {
        return session.lookupAsync(name, type).toCompletableFuture();
    }

    private long deadline() {
        return System.nanoTime() + timeout.plus(GRACE).toNanos();
    }

    /**
     * Waits for a lookup until the deadline and sorts its outcome into found / NODATA / NXDOMAIN / failure. A failure
     * is logged here, once, with the name and type asked (a client's PTR at debug: every unreachable client's
     * resolver would otherwise fill the log).
     */
    private <T extends Record> Outcome<T> finish(CompletableFuture<LookupResult> future, long deadline, Name name,
                                                 int type, Class<T> cls) throws DnsException {
        try {
            return outcome(future, deadline, name, type, cls);
        } catch (DnsException e) {
            (type == Type.PTR ? log.atDebug() : log.atWarn()).addKeyValue("name", hostName(name))
                    .addKeyValue("type", Type.string(type)).addKeyValue("reason", e.getMessage())
                    .addKeyValue("bogus", e.bogus() ? "yes" : null).log("dns lookup failed");
            throw e;
        }
    }

    private <T extends Record> Outcome<T> outcome(CompletableFuture<LookupResult> future, long deadline, Name name,
                                                  int type, Class<T> cls) throws DnsException {
        String what = hostName(name) + "/" + Type.string(type);
        LookupResult result;
        try {
            result = future.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            future.cancel(true);
            throw new DnsException("DNS timeout for " + what, true);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            future.cancel(true);
            throw new DnsException("interrupted during DNS lookup of " + what, true);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            while (cause instanceof CompletionException && cause.getCause() != null) cause = cause.getCause();
            return failed(cause, name, type, what);
        }
        List<T> records = result.getRecords().stream().filter(cls::isInstance).map(cls::cast).toList();
        // No records (NODATA from the wire): the chain ended at the last alias's target.
        Name owner = records.isEmpty() ? chainEnd(name) : records.getFirst().getName();
        return new Outcome<>(records, owner, false, security(name, owner, type));
    }

    private <T extends Record> Outcome<T> failed(Throwable cause, Name name, int type, String what)
            throws DnsException {
        return switch (cause) {
            case NoSuchDomainException e -> new Outcome<>(List.of(), e.getName(), true,
                    security(name, e.getName(), Type.ANY));
            case NoSuchRRSetException e -> new Outcome<>(List.of(), e.getName(), false,
                    security(name, e.getName(), type));
            case ServerFailedException e when bogus(e.getExtendedRcode()) -> throw new DnsException(
                    "DNSSEC validation failed for " + what + ": " + reason(e.getExtendedRcode()), true,
                    Security.BOGUS);
            case ServerFailedException e -> throw new DnsException("DNS server answered SERVFAIL for " + what
                    + (e.getExtendedRcode() == null ? "" : " (" + reason(e.getExtendedRcode()) + ")"), true);
            case RedirectLoopException e -> throw new DnsException("CNAME loop at " + what, true);
            case RedirectOverflowException e -> throw new DnsException("CNAME chain longer than " + MAX_CHAIN
                    + " at " + what, true);
            case org.xbill.DNS.lookup.LookupFailedException e -> throw new DnsException("DNS lookup of " + what
                    + " failed: " + e.getMessage(), true);
            // dnsjava's ExtendedResolver gives up with a plain IOException once its own deadline passed
            case Throwable t when timedOut(t) -> throw new DnsException("DNS timeout for " + what, true);
            default -> throw new DnsException("DNS query for " + what + " failed: " + cause, true);
        };
    }

    /** A query that got no answer in time, however the resolver library said it. */
    private static boolean timedOut(Throwable t) {
        return t instanceof TimeoutException || t instanceof java.net.SocketTimeoutException
                || t instanceof java.io.IOException && t.getMessage() != null && t.getMessage().startsWith("Timed out");
    }

    private static boolean bogus(ExtendedErrorCodeOption ede) {
        return ede != null && BOGUS_CODES.contains(ede.getErrorCode());
    }

    private static String reason(ExtendedErrorCodeOption ede) {
        String text = ede.getText();
        return ExtendedErrorCodeOption.text(ede.getErrorCode()) + (text == null || text.isBlank() ? "" : ": " + text);
    }

    /** Where the CNAME chain from {@code name} ends, as far as the responses behind the cache said. */
    private Name chainEnd(Name name) {
        Name current = name;
        for (int i = 0; i <= MAX_CHAIN; i++) {
            SecurityCache.Link link = cache.entry(current, Type.CNAME);
            if (link == null || link.cnameTarget() == null) break;
            current = link.cnameTarget();
        }
        return current;
    }

    /**
     * The security of the answer for {@code (end, type)} reached from {@code queried}: secure only when every CNAME
     * on the way and the final RRset (or its denial; {@link Type#ANY} for NXDOMAIN) came authenticated.
     */
    private Security security(Name queried, Name end, int type) {
        if (validation == Validation.OFF) {
            return Security.INSECURE;
        }
        boolean authenticated = true;
        Name current = queried;
        for (int hops = 0; !current.equals(end); hops++) {
            SecurityCache.Link link = cache.entry(current, Type.CNAME);
            if (hops > MAX_CHAIN || link == null || link.cnameTarget() == null) {
                return Security.INSECURE; // a DNAME, or an entry evicted: unknown is never secure
            }
            authenticated &= link.authenticated();
            current = link.cnameTarget();
        }
        SecurityCache.Link last = cache.entry(end, type);
        return authenticated && last != null && last.authenticated() ? Security.SECURE : Security.INSECURE;
    }

    /** {@code _PORT._tcp.HOST}, the host in lookup form (the service labels are no host name labels). */
    private static Name tlsaName(String host, int port) throws DnsException {
        try {
            return Name.concatenate(Name.fromString("_" + port + "._tcp"), parseName(host));
        } catch (TextParseException | org.xbill.DNS.NameTooLongException e) {
            throw new DnsException("no TLSA name for " + host + " port " + port + " (" + e.getMessage() + ")", false);
        }
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
