package dev.postern.cli;

import dev.postern.audit.AuditStore.AuditStoreException;
import dev.postern.audit.JdbcAuditStore;
import dev.postern.audit.MessageTrace;
import dev.postern.smtp.AddressException;
import dev.postern.smtp.Mailbox;
import dev.postern.trace.Json;
import dev.postern.trace.TraceText;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code postern trace}: every hop of a message through this gateway, from the audit store. */
@Command(name = "trace", description = "Every hop of a message through this gateway, with its TLS: by queue id, "
        + "by Message-ID, or every message to one recipient.")
final class TraceCommand implements Callable<Integer> {
    @Mixin ConfigSource source;
    @Parameters(paramLabel = "ID", arity = "0..1", description = "a queue id or a Message-ID (with or without <>)")
    String id;
    @Option(names = "--recipient", paramLabel = "ADDR", description = "every message to this address") String recipient;
    @Option(names = "--since", paramLabel = "WHEN", description = "only messages received since then: a duration "
            + "back from now (30m, 24h, 7d, 2w), a time (2026-12-01T00:00Z) or a date (2026-12-01, midnight UTC); "
            + "default 7d") String since;
    @Option(names = "--json", description = "the records as JSON instead of text") boolean json;

    @Override public Integer call() throws CliException {
        if ((id == null) == (recipient == null)) {
            throw new CliException("postern: trace: expected a queue id or Message-ID, or --recipient ADDR "
                    + "(one of them)", 2);
        }
        Instant from = TimeOptions.since("--since", since == null ? "7d" : since, Instant.now());
        String address = recipient == null ? null : address(recipient);
        String key = id == null ? null : messageKey(id);
        List<MessageTrace> traces = AuditAccess.ask(source.load(),
                store -> key != null ? store.trace(key) : store.traceRecipient(address, from));
        System.out.print(text(traces, key, address, key != null && since == null ? null : from, json));
        return 0;
    }

    /**
     * What is printed for the traces the store found: text or JSON, those received since {@code since} (null: all; a
     * queue id or Message-ID is looked up whatever its age unless --since is given).
     */
    static String text(List<MessageTrace> found, String key, String address, Instant since, boolean json)
            throws CliException {
        List<MessageTrace> traces = since != null ? found.stream().filter(t -> !t.message().at().isBefore(since)).toList() : found;
        if (traces.isEmpty()) {
            throw new CliException("postern: no message " + (key != null ? key : "to " + address) + " on record"
                    + (since != null ? " since " + TraceText.time(since) : ""), 1);
        }
        return json ? Json.pretty(traces) + "\n" : TraceText.render(traces);
    }

    /**
     * The admin API's one search box ({@code GET /api/trace?q=}): a queue id or Message-ID as {@code postern trace ID}
     * looks it up (whatever its age), else, when that finds nothing and {@code q} is an address, what
     * {@code postern trace --recipient q} finds since {@code since}. Bad input is an IllegalArgumentException.
     */
    static List<MessageTrace> search(JdbcAuditStore store, String q, Instant since) throws AuditStoreException {
        String key;
        try {
            key = messageKey(q);
        } catch (CliException e) {
            throw new IllegalArgumentException("q: expected a queue id, a Message-ID or a recipient address");
        }
        List<MessageTrace> found = store.trace(key);
        if (!found.isEmpty() || key.indexOf('@') < 0) return found;
        String address;
        try {
            address = address(q);
        } catch (CliException e) {
            return found;
        }
        return store.traceRecipient(address, since).stream().filter(t -> !t.message().at().isBefore(since)).toList();
    }

    /** A Message-ID is recorded without its angle brackets. */
    static String messageKey(String id) throws CliException {
        String s = id.strip();
        if (s.startsWith("<") && s.endsWith(">")) s = s.substring(1, s.length() - 1);
        if (s.isEmpty()) throw new CliException("postern: trace: expected a queue id or Message-ID, got \"" + id + "\"", 2);
        return s;
    }

    /** An address in the lookup form the records hold (the domain as A-labels, lower case). */
    static String address(String text) throws CliException {
        String s = text.strip();
        if (s.startsWith("<") && s.endsWith(">")) s = s.substring(1, s.length() - 1);
        try {
            return Mailbox.parse(s).address();
        } catch (AddressException e) {
            throw new CliException("postern: --recipient: expected an address like b@bank.example, got \"" + text
                    + "\" (" + e.getMessage() + ")", 2);
        }
    }
}
