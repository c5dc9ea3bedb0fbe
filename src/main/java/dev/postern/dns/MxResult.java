package dev.postern.dns;

import java.util.List;

/** The answer to an MX question, in the cases routing must tell apart. */
public sealed interface MxResult {
    /** One or more MX hosts, by preference (lowest first). */
    record Hosts(List<MxHost> hosts) implements MxResult {
        public Hosts { hosts = List.copyOf(hosts); }
    }
    /** RFC 7505 null MX ("0 ."): the domain accepts no mail. */
    record NullMx() implements MxResult {}
    /** The domain exists but has no MX: deliver to its A/AAAA (RFC 5321 §5.1). */
    record NoMx() implements MxResult {}
    /** The domain does not exist. */
    record NoSuchDomain() implements MxResult {}

    record MxHost(int preference, String host) {}
}
