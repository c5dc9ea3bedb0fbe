package dev.postern.alerts;

import dev.postern.admin.AdminServer;
import dev.postern.admin.Reply;
import dev.postern.admin.StoreAccess;
import dev.postern.audit.AlertRecord;
import dev.postern.audit.AuditStore.AuditStoreException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * {@code GET /api/alerts}: {@code {"active":[...], "recent":[...]}}. Active: the alerts firing now (their FIRING
 * records, from the engine). Recent: every state change of the last 7 days in the audit store, newest first (all
 * gateways sharing the store).
 */
public final class AlertsApi {
    /** How far back "recent" goes. */
    public static final Duration RECENT = Duration.ofDays(7);

    private AlertsApi() {}

    /** The answer's shape. */
    public record Answer(List<AlertRecord> active, List<AlertRecord> recent) { }

    public static void register(AdminServer server, Alerts alerts, StoreAccess store) {
        server.route("GET", "/api/alerts", call -> {
            List<AlertRecord> recent;
            try {
                recent = store.ask(s -> s.alerts(Instant.now().minus(RECENT)));
            } catch (AuditStoreException e) {
                return Reply.error(503, "audit store: " + e.getMessage());
            }
            return Reply.json(new Answer(alerts == null ? List.of() : alerts.active(), recent));
        });
    }
}
