package dev.postern.cli;

import dev.postern.names.Domains;
import dev.postern.queue.Envelope;
import dev.postern.queue.QueueIds;
import dev.postern.queue.QueueState;
import dev.postern.queue.Spool;
import dev.postern.recipients.LocalParts;
import java.util.List;
import java.util.Locale;

/**
 * Which queued messages a queue command is about, as {@code postsuper} and {@code mailq} select them: queue ids,
 * and selectors that must all hold (AND). Every value is in the form it is compared in, made once by {@link #parse}
 * on the command line's side: a domain in lookup form, an address as {@link #addressKey}.
 *
 * <p>Only recipients still to be delivered count for {@code domain} and {@code recipient}: a message matches when one
 * of them does, and a command acts on the whole message (as postsuper does).
 *
 * @param ids       the messages named, or empty for any
 * @param domain    a recipient domain ("example.com" exactly that domain; ".example.com" its subdomains only, as the
 *                  policy and route keys match), or null
 * @param recipient a recipient address ({@link #addressKey}), or null
 * @param sender    the sender ({@link #addressKey}; "" for the null sender {@code <>}), or null
 * @param state     the spool state, or null for any
 * @param all       every message ({@code --all}): a selector an administrator has to say, so that a bare command
 *                  never means "everything"
 */
record QueueSelector(List<String> ids, String domain, String recipient, String sender, QueueState state,
                     boolean all) {

    QueueSelector {
        ids = ids == null ? List.of() : List.copyOf(ids);
    }

    /** Every message. */
    static final QueueSelector ALL = new QueueSelector(List.of(), null, null, null, null, true);

    /** True when nothing was said: no id, no selector. */
    boolean none() {
        return ids.isEmpty() && domain == null && recipient == null && sender == null && state == null && !all;
    }

    /** True when selectors were given (not only ids). */
    boolean selects() {
        return domain != null || recipient != null || sender != null || state != null || all;
    }

    /** The selector with the spool's state words and the command line's spellings made comparable. */
    static QueueSelector parse(List<String> ids, String domain, String recipient, String sender, String state,
                               boolean all) throws CliException {
        for (String id : ids == null ? List.<String>of() : ids) {
            if (!QueueIds.isValid(id)) throw new CliException("postern: not a queue id: " + id, 2);
        }
        String d = domain == null ? null : PolicyCommand.domain(domain);
        String r = null;
        if (recipient != null) {
            r = addressKey(recipient);
            if (r == null || r.isEmpty()) {
                throw new CliException("postern: --recipient: expected an address like bob@example.com, got \""
                        + recipient + "\"", 2);
            }
        }
        String s = null;
        if (sender != null) {
            s = addressKey(sender);
            if (s == null) {
                throw new CliException("postern: --sender: expected an address like alice@example.com, or <> for the "
                        + "null sender, got \"" + sender + "\"", 2);
            }
        }
        return new QueueSelector(ids, d, r, s, state == null ? null : state(state), all);
    }

    /** A spool state as the spool names its directories: active, deferred, hold. */
    static QueueState state(String word) throws CliException {
        for (QueueState s : QueueState.values()) {
            if (s.name().equalsIgnoreCase(word.strip())) return s;
        }
        throw new CliException("postern: --state: expected active, deferred or hold, got \"" + word + "\"", 2);
    }

    /**
     * The form two addresses are compared in: the local part unquoted and in lower case ({@link LocalParts#key}), the
     * domain in lookup form; "" for the null sender ("&lt;&gt;" or ""); null when it is not an address.
     */
    static String addressKey(String address) {
        String a = address.strip();
        if (a.startsWith("<") && a.endsWith(">")) a = a.substring(1, a.length() - 1).strip();
        if (a.isEmpty()) return "";
        int at = a.lastIndexOf('@');
        if (at <= 0 || at == a.length() - 1) return null;
        String domain = Domains.toAsciiOrNull(a.substring(at + 1));
        if (domain == null) return null;
        return LocalParts.key(a.substring(0, at)) + "@" + domain;
    }

    /** The domain of an address as the queue holds it, in lookup form (older envelopes may hold another spelling). */
    static String domainOf(String address) {
        int at = address.lastIndexOf('@');
        if (at < 0) return "";
        String d = address.substring(at + 1);
        String ascii = Domains.toAsciiOrNull(d);
        return ascii != null ? ascii : d.toLowerCase(Locale.ROOT);
    }

    boolean matches(Spool.Entry e) {
        Envelope env = e.envelope();
        if (!ids.isEmpty() && !ids.contains(env.id())) return false;
        if (state != null && e.state() != state) return false;
        if (sender != null) {
            String key = env.sender().isEmpty() ? "" : addressKey(env.sender());
            if (!sender.equals(key)) return false;
        }
        if (domain != null || recipient != null) {
            boolean any = false;
            for (Envelope.Recipient r : env.pending()) {
                if (domain != null && !domainMatches(domainOf(r.address()))) continue;
                if (recipient != null && !recipient.equals(addressKey(r.address()))) continue;
                any = true;
                break;
            }
            if (!any) return false;
        }
        return true;
    }

    private boolean domainMatches(String d) {
        return domain.startsWith(".") ? d.endsWith(domain) : d.equals(domain);
    }

    /** The selectors in words, for the summary line ("--domain spam.example --state deferred"). */
    String describe() {
        StringBuilder b = new StringBuilder();
        if (all) b.append(" --all");
        if (domain != null) b.append(" --domain ").append(domain);
        if (recipient != null) b.append(" --recipient ").append(recipient);
        if (sender != null) b.append(" --sender ").append(sender.isEmpty() ? "<>" : sender);
        if (state != null) b.append(" --state ").append(state.name().toLowerCase(Locale.ROOT));
        if (!ids.isEmpty()) b.append(ids.size() == 1 ? " " + ids.getFirst() : " " + ids.size() + " ids");
        return b.toString().strip();
    }
}
