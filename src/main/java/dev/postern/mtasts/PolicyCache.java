package dev.postern.mtasts;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.postern.audit.RecordCodec;
import dev.postern.files.DurableFiles;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Policies on disk, one JSON file per domain in {@code data/mta-sts/} ({@code DOMAIN.json}, lookup form, so the name
 * is safe as a file name), written through {@link DurableFiles}, held in memory while the gateway runs. At most
 * {@code maxDomains}: a new domain past the cap pushes out the policy that expires first.
 */
public final class PolicyCache {
    private static final Logger log = LoggerFactory.getLogger(PolicyCache.class);
    private static final ObjectMapper JSON = RecordCodec.mapper();
    private static final String SUFFIX = ".json";

    /** What a file holds: the policy as served (parsed again on load) and the cache's own facts. */
    record Stored(String domain, String id, String policy, Instant fetchedAt, Instant expiresAt, String lastError,
                  Instant lastErrorAt) {}

    private final Path dir;
    private final int maxDomains;
    private final Map<String, CachedPolicy> entries = new ConcurrentHashMap<>();

    private PolicyCache(Path dir, int maxDomains) {
        this.dir = dir;
        this.maxDomains = maxDomains;
    }

    /** Loads {@code dir} (missing: empty); files that cannot be read or parsed are skipped with a warning. */
    public static PolicyCache open(Path dir, int maxDomains) {
        PolicyCache cache = new PolicyCache(dir, maxDomains);
        if (!Files.isDirectory(dir)) return cache;
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*" + SUFFIX)) {
            for (Path f : files) {
                try {
                    Stored s = JSON.readValue(f.toFile(), Stored.class);
                    cache.entries.put(s.domain(), new CachedPolicy(s.domain(), s.id(), Policy.parse(s.policy()),
                            s.fetchedAt(), s.expiresAt(), s.lastError(), s.lastErrorAt()));
                } catch (IOException | Policy.InvalidPolicyException | RuntimeException e) {
                    log.warn("mta-sts: ignoring cache file {}: {}", f, e.getMessage());
                }
            }
        } catch (IOException e) {
            log.warn("mta-sts: cannot read the policy cache {}: {}", dir, e.getMessage());
        }
        return cache;
    }

    public Optional<CachedPolicy> get(String domain) {
        return Optional.ofNullable(entries.get(domain));
    }

    /** The cached policies as a source that never looks anything up ({@code postern policy show}). */
    public PolicySource offline(Instant now) {
        return d -> get(d).filter(p -> !p.expired(now) && p.policy().mode() != Policy.Mode.NONE);
    }

    /** What the cache knows of {@code domain} (no lookup; a running gateway's fetch failures without a policy are not on disk). */
    public MtaSts.State state(String domain) {
        CachedPolicy c = entries.get(domain);
        return new MtaSts.State(domain, c, c == null ? null : c.lastError(), c == null ? null : c.lastErrorAt());
    }

    /** Every cached policy, expired ones included, by domain. */
    public List<CachedPolicy> all() {
        return entries.values().stream().sorted(Comparator.comparing(CachedPolicy::domain)).toList();
    }

    /** Keeps {@code p} in memory and on disk; a failed write is logged, the policy stays in memory. */
    public void put(CachedPolicy p) {
        if (!entries.containsKey(p.domain())) makeRoom();
        entries.put(p.domain(), p);
        try {
            byte[] json = JSON.writeValueAsBytes(new Stored(p.domain(), p.id(), p.policy().text(), p.fetchedAt(),
                    p.expiresAt(), p.lastError(), p.lastErrorAt()));
            DurableFiles.SYSTEM.write(file(p.domain()), json);
        } catch (IOException e) {
            log.warn("mta-sts: cannot write the cached policy of {}: {}", p.domain(), e.getMessage());
        }
    }

    /** Forgets a domain's policy (expired), in memory and on disk. */
    public void remove(String domain) {
        entries.remove(domain);
        try {
            Files.deleteIfExists(file(domain));
        } catch (IOException e) {
            log.warn("mta-sts: cannot remove the cached policy of {}: {}", domain, e.getMessage());
        }
    }

    private void makeRoom() {
        while (entries.size() >= maxDomains) {
            entries.values().stream().min(Comparator.comparing(CachedPolicy::expiresAt))
                    .ifPresent(oldest -> remove(oldest.domain()));
        }
    }

    private Path file(String domain) {
        return dir.resolve(domain + SUFFIX);
    }

    /** Expired policies dropped at {@code now}. */
    int prune(Instant now) {
        int n = 0;
        for (CachedPolicy p : List.copyOf(entries.values())) {
            if (p.expired(now)) {
                remove(p.domain());
                n++;
            }
        }
        return n;
    }
}
