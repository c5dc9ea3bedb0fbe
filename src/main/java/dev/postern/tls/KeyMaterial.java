package dev.postern.tls;

import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;

/** A private key and its certificate chain, leaf first. Never logged: {@link #toString()} names the leaf only. */
public record KeyMaterial(PrivateKey key, List<X509Certificate> chain) {
    public KeyMaterial {
        chain = List.copyOf(chain);
        if (chain.isEmpty()) throw new IllegalArgumentException("empty certificate chain");
    }

    public X509Certificate leaf() { return chain.getFirst(); }

    @Override public String toString() { return "KeyMaterial[" + leaf().getSubjectX500Principal().getName() + "]"; }
}
