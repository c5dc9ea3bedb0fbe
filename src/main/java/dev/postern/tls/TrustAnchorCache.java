package dev.postern.tls;

import java.nio.file.Path;
import java.security.cert.TrustAnchor;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/** Trust anchors by CA file, read once per file; no file means the JDK's system store. Thread-safe. */
public final class TrustAnchorCache {
    private final Map<Path, Set<TrustAnchor>> byFile = new ConcurrentHashMap<>();

    public Set<TrustAnchor> get(Path caFile) throws TlsConfigException {
        if (caFile == null) return PeerCheck.systemAnchors();
        Set<TrustAnchor> known = byFile.get(caFile);
        if (known != null) return known;
        Set<TrustAnchor> loaded = PeerCheck.anchors(Pem.readCertificates(caFile));
        byFile.put(caFile, loaded);
        return loaded;
    }
}
