package dev.postern.dns;

import java.util.LinkedHashMap;
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

    SecurityCache() {
        super(DClass.IN);
    }

    @Override
    public SetResponse addMessage(Message message) {
        int rcode = message.getRcode();
        Record question = message.getQuestion();
        if (question != null && (rcode == Rcode.NOERROR || rcode == Rcode.NXDOMAIN)) {
            record(message, question, rcode);
        }
        return super.addMessage(message);
    }

    private synchronized void record(Message message, Record question, int rcode) {
        boolean ad = message.getHeader().getFlag(Flags.AD);
        Name end = question.getName();
        boolean answered = false;
        for (RRset set : message.getSectionRRsets(Section.ANSWER)) {
            Name target = set.getType() == Type.CNAME ? ((CNAMERecord) set.first()).getTarget() : null;
            entries.put(new Key(set.getName(), set.getType()), new Link(ad, target));
            if (target != null && set.getName().equals(end)) end = target;
            if (set.getType() == question.getType() && set.getName().equals(end)) answered = true;
        }
        if (!answered) {
            // The end of the chain has nothing of the type asked (NODATA) or does not exist (NXDOMAIN).
            entries.put(new Key(end, rcode == Rcode.NXDOMAIN ? Type.ANY : question.getType()), new Link(ad, null));
        }
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
