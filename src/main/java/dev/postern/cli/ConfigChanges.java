package dev.postern.cli;

import dev.postern.config.Config;
import java.lang.reflect.Constructor;
import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * What a reload changes: the sections of the file that differ between the running configuration and the new one,
 * and the new configuration as the gateway can apply it, with the keys that need a restart kept at their running
 * values.
 *
 * <p>The sections are read off {@link Config}'s record components, so a section added later is compared without a
 * change here; it is applied live unless listed in {@link #RESTART}. Values are compared deeply (records, lists,
 * maps, arrays): {@link Config.Network} holds a byte array, which a record's own equals compares by identity.
 *
 * @param live    the sections that change and are applied, in the file's names ({@code local_domains},
 *                {@code [outbound_tls]})
 * @param restart the sections that change but keep their running value until a restart
 * @param applied the configuration to run with from now on
 */
record ConfigChanges(List<String> live, List<String> restart, Config applied) {

    /**
     * What cannot change under a running gateway: the parts built from these once at start (the data directory and
     * its lock, the audit store, the TLS provider and server certificates, the resolver, the SMTP client and its
     * limits, MTA-STS and its publisher, the downgrade memory, the AUTH limiter, the host name every part was
     * given).
     */
    private static final List<String> RESTART = List.of("hostname", "dataDir", "tls", "delivery", "dns", "audit",
            "mtaSts", "peerMemory");

    static ConfigChanges between(Config running, Config next) {
        List<String> live = new ArrayList<>();
        List<String> restart = new ArrayList<>();
        RecordComponent[] parts = Config.class.getRecordComponents();
        Object[] values = new Object[parts.length];
        for (int i = 0; i < parts.length; i++) {
            String name = parts[i].getName();
            Object was = get(parts[i], running), now = get(parts[i], next);
            values[i] = now;
            if (name.equals("source") || same(was, now)) continue;
            if (RESTART.contains(name)) {
                // [acme] is held in Config.Tls: name the table that changed
                restart.add(name.equals("tls") && same(((Config.Tls) was).withAcme(Config.Acme.OFF),
                        ((Config.Tls) now).withAcme(Config.Acme.OFF)) ? "[acme]" : label(name));
                values[i] = was;
            } else if (name.equals("inbound")) {
                values[i] = inbound((Config.Inbound) was, (Config.Inbound) now, live, restart);
            } else if (name.equals("watch")) {
                values[i] = watch((Config.Watch) was, (Config.Watch) now, live, restart);
            } else if (name.equals("limits")) {
                values[i] = limits((Config.Limits) was, (Config.Limits) now, live, restart);
            } else {
                live.add(label(name));
            }
        }
        return new ConfigChanges(List.copyOf(live), List.copyOf(restart), construct(values));
    }

    /** {@code [auth]} limits belong to the limiter made at start; partners, relay clients, recipients are live. */
    private static Config.Inbound inbound(Config.Inbound was, Config.Inbound now, List<String> live,
                                          List<String> restart) {
        if (!same(was.partners(), now.partners())) live.add("[[partners]]");
        if (!same(was.relayClients(), now.relayClients())) live.add("[[relay_clients]]");
        if (!same(was.recipients(), now.recipients())) live.add("[recipients]");
        if (!same(was.verification(), now.verification())) live.add("[recipient_verification]");
        if (same(was.auth(), now.auth())) return now;
        restart.add("[auth]");
        return now.with(now.recipients(), now.verification(), was.auth());
    }

    /**
     * {@code [admin]} is the admin server bound at start (address, HTTPS): a change waits for a restart, as do the
     * TLS report sender's keys. The rest of watching is read by its parts per use.
     */
    private static Config.Watch watch(Config.Watch was, Config.Watch now, List<String> live, List<String> restart) {
        if (!same(was.alerts(), now.alerts())) live.add("[alerts]");
        if (!same(was.probes(), now.probes())) live.add("[probes]");
        // [tls_rpt]: reception reads its keys per report; the sender's (send, organization, contact, from) are
        // fixed when its daily thread starts
        Config.TlsRpt r = was.tlsRpt(), n = now.tlsRpt();
        Config.TlsRpt tlsRpt = new Config.TlsRpt(r.send(), r.organization(), r.contact(), r.from(),
                n.receiveAddress(), n.maxReportSize());
        if (!same(tlsRpt, r)) live.add("[tls_rpt] receive_address, max_report_size");
        if (!same(tlsRpt, n)) restart.add("[tls_rpt] send, organization, contact, from");
        Config.Admin admin = now.admin();
        if (!same(was.admin(), now.admin())) {
            restart.add("[admin]");
            admin = was.admin();
        }
        return new Config.Watch(admin, now.alerts(), now.probes(), tlsRpt);
    }

    /** {@code max_active_sessions} is the size of the fair semaphore made at start; the other limits are live. */
    private static Config.Limits limits(Config.Limits was, Config.Limits now, List<String> live,
                                        List<String> restart) {
        Config.Limits kept = now.withMaxActiveSessions(was.maxActiveSessions());
        if (kept.maxActiveSessions() != now.maxActiveSessions()) restart.add("[limits] max_active_sessions");
        if (!same(was, kept)) live.add("[limits]");
        return kept;
    }

    /** The name an administrator knows from the file: a key ({@code local_domains}) or a table ({@code [dns]}). */
    private static String label(String component) {
        String key = component.replaceAll("([A-Z])", "_$1").toLowerCase(Locale.ROOT);
        return switch (component) {
            case "hostname", "dataDir", "localDomains", "relayDomains", "relayNetworks" -> key;
            case "listeners" -> "[[listeners]]";
            default -> "[" + key + "]";
        };
    }

    private static Object get(RecordComponent c, Object record) {
        try {
            return c.getAccessor().invoke(record);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot read " + c.getName(), e);
        }
    }

    private static Config construct(Object[] values) {
        try {
            Class<?>[] types = Arrays.stream(Config.class.getRecordComponents()).map(RecordComponent::getType)
                    .toArray(Class<?>[]::new);
            Constructor<Config> canonical = Config.class.getDeclaredConstructor(types);
            return canonical.newInstance(values);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot make the reloaded configuration", e);
        }
    }

    /** Deep equality of configuration values: records by component, lists and maps by element, arrays by content. */
    static boolean same(Object a, Object b) {
        if (a == b) return true;
        if (a == null || b == null) return false;
        if (a instanceof byte[] x) return b instanceof byte[] y && Arrays.equals(x, y);
        if (a instanceof Record && a.getClass() == b.getClass()) {
            for (RecordComponent c : a.getClass().getRecordComponents()) {
                if (!same(get(c, a), get(c, b))) return false;
            }
            return true;
        }
        if (a instanceof List<?> x && b instanceof List<?> y) {
            if (x.size() != y.size()) return false;
            Iterator<?> i = x.iterator(), j = y.iterator();
            while (i.hasNext()) if (!same(i.next(), j.next())) return false;
            return true;
        }
        if (a instanceof Map<?, ?> x && b instanceof Map<?, ?> y) {
            if (!x.keySet().equals(y.keySet())) return false;
            for (Map.Entry<?, ?> e : x.entrySet()) if (!same(e.getValue(), y.get(e.getKey()))) return false;
            return true;
        }
        return Objects.equals(a, b); // sets of names, paths, durations, enums, addresses
    }
}
