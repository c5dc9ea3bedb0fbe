package dev.postern.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.postern.admin.AdminServer;
import dev.postern.admin.Call;
import dev.postern.admin.Reply;
import dev.postern.admin.StoreAccess;
import dev.postern.audit.AuditStore.AuditStoreException;
import dev.postern.audit.RecordCodec;
import dev.postern.audit.SeenCertificate;
import dev.postern.config.Config;
import dev.postern.mtasts.CachedPolicy;
import dev.postern.mtasts.PolicyCache;
import dev.postern.outbound.PolicyOverrides;
import dev.postern.outbound.TlsPolicies;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Supplier;

/**
 * The admin API's routes that do what a command does, through the command's own code: the queue's write side
 * ({@code postern queue flush|hold|release|delete}, {@link QueueAdmin} and {@link QueueSelector}), the policies
 * ({@code postern policy show --json}) and the certificates seen ({@code postern certs seen --json}). A refused
 * request is 400 with the command's message, without its "postern: " and option dashes.
 */
final class AdminApi {
    /** The keys a queue request may have. */
    private static final Set<String> QUEUE_KEYS = Set.of("ids", "domain", "recipient", "sender", "state", "all", "by");
    /** Who a queue request is recorded as when its body names nobody ("by"). */
    static final String DEFAULT_BY = "api";

    private AdminApi() {}

    /**
     * @param config the configuration in force (the gateway's, as reloads change it)
     * @param queue  the gateway's queue operations, shared with the control socket
     * @param store  the admin server's connection to the audit store
     */
    static void register(AdminServer server, Supplier<Config> config, QueueAdmin queue, StoreAccess store) {
        for (QueueAdmin.Operation op : QueueAdmin.Operation.values()) {
            server.route("POST", "/api/queue/" + op.word(), call -> queue(queue, op, call));
        }
        server.route("GET", "/api/policies/*", call -> policies(config.get(), call.rest()));
        server.route("GET", "/api/certificates", call -> certificates(store, call));
    }

    /** The command line's refusal as an API client reads it: 400 with the message, "postern: --x:" made "x:". */
    private static IllegalArgumentException refused(CliException e) {
        return new IllegalArgumentException(e.getMessage().replaceFirst("^postern: ", "").replaceFirst("^--", ""));
    }

    /** One queue operation: {"ids": [...]} and/or selectors, "by" who asks; the client's address is the peer. */
    private static Reply queue(QueueAdmin queue, QueueAdmin.Operation op, Call call) throws IOException {
        JsonNode body;
        try {
            body = call.body().length == 0 ? RecordCodec.mapper().createObjectNode()
                    : RecordCodec.mapper().readTree(call.body());
        } catch (IOException e) {
            throw new IllegalArgumentException("expected a JSON object like {\"ids\": [\"ID\"], \"by\": \"alice\"}");
        }
        if (body == null || !body.isObject()) {
            throw new IllegalArgumentException("expected a JSON object like {\"ids\": [\"ID\"], \"by\": \"alice\"}");
        }
        for (Iterator<String> it = body.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!QUEUE_KEYS.contains(k)) {
                throw new IllegalArgumentException("unknown key \"" + k + "\" (expected ids, domain, recipient, "
                        + "sender, state, all, by)");
            }
        }
        List<String> ids = new ArrayList<>();
        JsonNode idsNode = body.get("ids");
        if (idsNode != null && !idsNode.isNull()) {
            if (!idsNode.isArray()) throw new IllegalArgumentException("ids: expected an array of queue ids");
            for (JsonNode id : idsNode) {
                if (!id.isTextual()) throw new IllegalArgumentException("ids: expected an array of queue ids");
                ids.add(id.textValue());
            }
        }
        JsonNode all = body.get("all");
        if (all != null && !all.isNull() && !all.isBoolean()) throw new IllegalArgumentException("all: expected true or false");
        QueueSelector selector;
        String by;
        try {
            selector = QueueSelector.parse(ids, text(body, "domain"), text(body, "recipient"), text(body, "sender"),
                    text(body, "state"), all != null && all.asBoolean());
            String named = text(body, "by");
            by = named == null ? DEFAULT_BY : QueueCommand.Operator.checked("by", named);
        } catch (CliException e) {
            throw refused(e);
        }
        if (selector.none()) {
            if (op != QueueAdmin.Operation.FLUSH) {
                throw new IllegalArgumentException(op.word() + ": name queue ids or a selector (domain, recipient, "
                        + "sender, state, or \"all\": true for every message)");
            }
            selector = QueueSelector.ALL; // as "postern queue flush": everything
        }
        return Reply.json(queue.apply(op, selector, new QueueAdmin.Who(by, call.peer())));
    }

    private static String text(JsonNode body, String key) {
        JsonNode v = body.get(key);
        if (v == null || v.isNull()) return null;
        if (!v.isTextual()) throw new IllegalArgumentException(key + ": expected a string, got " + v);
        return v.textValue();
    }

    /**
     * {@code /api/policies/DOMAIN}: what {@code postern policy show DOMAIN --json} prints. {@code /api/policies}:
     * {"policies": [...]}, the same for every domain with a policy of its own: an exact [outbound_tls] key, an
     * override, an MTA-STS policy in the cache.
     */
    private static Reply policies(Config config, String domain) {
        Instant now = Instant.now();
        PolicyCache cache = PolicyCommand.Show.mtaStsCache(config);
        TlsPolicies policies = PolicyCommand.Show.policies(config, cache, now);
        if (!domain.isEmpty()) {
            String d;
            try {
                d = PolicyCommand.domain(domain);
            } catch (CliException e) {
                throw refused(e);
            }
            if (d.startsWith(".")) {
                throw new IllegalArgumentException("expected a destination domain like mx.partner.example, got \""
                        + domain + "\"");
            }
            return Reply.json(PolicyCommand.Show.Shown.of(d, policies.resolve(d, now), now));
        }
        Set<String> domains = new TreeSet<>(config.outboundTls().domains().keySet());
        new PolicyOverrides(config.dataDir()).all().forEach(o -> domains.add(o.domain()));
        cache.all().stream().map(CachedPolicy::domain).forEach(domains::add);
        domains.removeIf(d -> d.startsWith("."));
        List<PolicyCommand.Show.Shown> shown = domains.stream()
                .map(d -> PolicyCommand.Show.Shown.of(d, policies.resolve(d, now), now)).toList();
        return Reply.json(Map.of("policies", shown));
    }

    /** {@code ?expiring=21d}: what {@code postern certs seen --expiring 21d --json} prints. */
    private static Reply certificates(StoreAccess store, Call call) {
        Instant before = null;
        if (call.param("expiring").isPresent()) {
            try {
                before = Instant.now().plus(TimeOptions.duration("--expiring", call.param("expiring").get()));
            } catch (CliException e) {
                throw refused(e);
            }
        }
        Instant b = before;
        try {
            List<SeenCertificate> certs = store.ask(s -> s.certificatesSeen(b));
            return Reply.json(certs);
        } catch (AuditStoreException e) {
            return Reply.error(503, "audit store: " + e.getMessage());
        }
    }
}
