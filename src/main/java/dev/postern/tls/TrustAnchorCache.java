package dev.postern.tls;

import java.nio.file.Path;
import java.security.cert.TrustAnchor;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/** Trust anchors by CA file, read once per file; no file means the JDK's system store. Thread-safe. */
public final class TrustAnchorCache {
    private final Map<Path, Set<TrustAnchor>> byFile = new ConcurrentHashMap<>();
    private final Map<Path, Set<TrustAnchor>> withSystem = new ConcurrentHashMap<>();

    public Set<TrustAnchor> get(Path caFile) throws TlsConfigException {
        if (caFile == null) return PeerCheck.systemAnchors();
        Set<TrustAnchor> known = byFile.get(caFile);
        if (known != null) return known;
        Set<TrustAnchor> loaded = PeerCheck.anchors(Pem.readCertificates(caFile));
        byFile.put(caFile, loaded);
        return loaded;
    }

    /** The system store's anchors and those of {@code caFile} together (MTA-STS: public and private PKI). */
    public Set<TrustAnchor> withSystem(Path caFile) throws TlsConfigException {
        if (caFile == null) return PeerCheck.systemAnchors();
        Set<TrustAnchor> known = withSystem.get(caFile);
        if (known != null) return known;
        Set<TrustAnchor> both = new java.util.HashSet<>(PeerCheck.systemAnchors());
        both.addAll(get(caFile));
        withSystem.put(caFile, Set.copyOf(both));
        return withSystem.get(caFile);
    }
}
