package dev.postern.dns;

import java.util.List;

/**
 * The answer to an MX question, in the cases routing must tell apart, with its DNSSEC {@link Security}: DANE
 * (RFC 7672 §2.2.1) applies to the MX hosts only when the MX RRset (or the denial of one) was {@code SECURE}.
 */
public sealed interface MxResult {
    Security security();

    /** One or more MX hosts, by preference (lowest first). */
    record Hosts(List<MxHost> hosts, Security security) implements MxResult {
        public Hosts { hosts = List.copyOf(hosts); }
        public Hosts(List<MxHost> hosts) { this(hosts, Security.INSECURE); }
    }
    /** RFC 7505 null MX ("0 ."): the domain accepts no mail. */
    record NullMx(Security security) implements MxResult {
        public NullMx() { this(Security.INSECURE); }
    }
    /** The domain exists but has no MX: deliver to its A/AAAA (RFC 5321 §5.1). */
    record NoMx(Security security) implements MxResult {
        public NoMx() { this(Security.INSECURE); }
    }
    /** The domain does not exist. */
    record NoSuchDomain(Security security) implements MxResult {
        public NoSuchDomain() { this(Security.INSECURE); }
    }

    record MxHost(int preference, String host) {}
}
