package dev.postern.dns;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.xbill.DNS.CNAMERecord;
import org.xbill.DNS.Cache;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.RRset;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.SetResponse;
import org.xbill.DNS.Type;

/**
 * The {@link org.xbill.DNS.lookup.LookupSession}'s cache, which also remembers whether each cached RRset (or negative
 * answer) came in a response with the AD bit: dnsjava 3.7.1 keeps that bit in its cache but gives no public way to
 * read it back, and a lookup answered from the cache must be exactly as secure as the response it came from.
 *
 * <p>Every entry of the cache is made by {@link #addMessage}, so the side table is written at the same moment and
 * overwritten by the same newer response. An entry missing from the side table (evicted) counts as not authenticated:
 * a lookup may come out insecure, never wrongly secure. SERVFAIL (bogus, failures) is never cached, by dnsjava's
 * {@link Cache} and here alike.
 *
 * <p>The AD bit speaks for a whole response. A response without it that follows a CNAME chain (an alias in an unsigned
 * zone for a host in a signed one) says the chain is not secure, not that each RRset on it is: its RRsets past the
 * name asked (the chain's tail) are not kept in the cache, so that a later lookup of such a name asks for it directly
 * and learns its own security, and an authenticated entry of the side table is not downgraded by them. Otherwise any
 * insecure alias of a signed MX host would make that host's DANE records unusable for the TTL.
 */
final class SecurityCache extends Cache {

    /** Bound on the side table; the cache itself holds at most {@link #getMaxEntries()} names. */
    private static final int MAX_KEYS = 100_000;

    /** An RRset or negative answer: (owner, type); NXDOMAIN is recorded with type {@link Type#ANY}. */
    private record Key(Name name, int type) {}

    /** What one response said of a key: whether it was authenticated, and for a CNAME its target. */
    record Link(boolean authenticated, Name cnameTarget) {}

    private final Map<Key, Link> entries = new LinkedHashMap<>(1024, 0.75f, true) {
        @Override protected boolean removeEldestEntry(Map.Entry<Key, Link> eldest) { return size() > MAX_KEYS; }
    };

    /** Whether answers are judged by their AD bit at all (not with DNSSEC off, where every answer is insecure). */
    private final boolean validating;

    SecurityCache(boolean validating) {
        super(DClass.IN);
        this.validating = validating;
    }

    /** Synchronized with dnsjava's own lookups: no lookup sees the tail of an unauthenticated chain cached. */
    @Override
    public synchronized SetResponse addMessage(Message message) {
        int rcode = message.getRcode();
        Record question = message.getQuestion();
        if (question == null || (rcode != Rcode.NOERROR && rcode != Rcode.NXDOMAIN)) {
            return super.addMessage(message);
        }
        List<Key> tail = record(message, question, rcode);
        SetResponse response = super.addMessage(message);
        for (Key k : tail) flushSet(k.name(), k.type() == Type.ANY ? 0 : k.type()); // dnsjava's NXDOMAIN type is 0
        return response;
    }

    /** Writes the side table; returns the keys of an unauthenticated chain's tail, which are not to stay cached. */
    private List<Key> record(Message message, Record question, int rcode) {
        boolean ad = message.getHeader().getFlag(Flags.AD);
        Name end = question.getName();
        boolean answered = false;
        List<Key> tail = new ArrayList<>();
        for (RRset set : message.getSectionRRsets(Section.ANSWER)) {
            Name target = set.getType() == Type.CNAME ? ((CNAMERecord) set.first()).getTarget() : null;
            put(new Key(set.getName(), set.getType()), new Link(ad, target), question.getName(), tail);
            if (target != null && set.getName().equals(end)) end = target;
            if (set.getType() == question.getType() && set.getName().equals(end)) answered = true;
        }
        if (!answered) {
            // The end of the chain has nothing of the type asked (NODATA) or does not exist (NXDOMAIN).
            put(new Key(end, rcode == Rcode.NXDOMAIN ? Type.ANY : question.getType()), new Link(ad, null),
                    question.getName(), tail);
        }
        return tail;
    }

    /**
     * One entry; an unauthenticated one past the name asked goes to {@code tail} and leaves an authenticated entry
     * as it is (its records leave the cache, so nothing is answered under it until a response of its own comes).
     */
    private void put(Key key, Link link, Name asked, List<Key> tail) {
        if (validating && !link.authenticated() && !key.name().equals(asked)) {
            tail.add(key);
            Link known = entries.get(key);
            if (known != null && known.authenticated()) return;
        }
        entries.put(key, link);
    }

    /** What the last response said of {@code name}'s {@code type} RRset (ANY: its non-existence), or null. */
    synchronized Link entry(Name name, int type) {
        return entries.get(new Key(name, type));
    }

    @Override
    public void clearCache() {
        super.clearCache();
        synchronized (this) {
            if (entries != null) entries.clear(); // null while Cache's constructor runs
        }
    }
}
