package dev.postern.cli;

import dev.postern.admin.Overrides;
import dev.postern.config.Config;
import dev.postern.config.Durations;
import dev.postern.outbound.PolicyOverrides;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The rules of setting and ending an override, once, for {@code postern policy override / clear / overrides} and the
 * admin API ({@code /api/overrides}): the level's word, an end in the future and within {@code [policy]
 * max_override}, pins for {@code fingerprint}, a reason, an operator name; then {@link PolicyOverrides}, which
 * writes the file and the admin log.
 */
final class OverrideDesk implements Overrides {
    private final Supplier<Config> config;

    /** The admin API's desk, over the gateway's configuration as it is at each call (reloads included). */
    OverrideDesk(Supplier<Config> config) {
        this.config = config;
    }

    /** {@code policy overrides --json}: every override on file as of {@code now}. */
    static PolicyCommand.ListOverrides.Listed list(Config config, Instant now) {
        return new PolicyCommand.ListOverrides.Listed(now, new PolicyOverrides(config.dataDir()).all().stream()
                .map(o -> PolicyCommand.OverrideShown.of(o, now)).toList());
    }

    /** Sets (replaces) the override of {@code domain}; {@code peer}: the admin API's client, null from the shell. */
    static PolicyCommand.OverrideShown set(Config config, String domain, String level, String until, String reason,
                                           String by, String peer) throws CliException, IOException {
        String d = PolicyCommand.domain(domain);
        Config.TlsLevel l = level == null ? null : Config.TlsLevel.parse(level);
        if (l == null) {
            throw new CliException("postern: --level: expected none, may, encrypt, fingerprint, verify, secure, "
                    + "dane or dane-only, got \"" + level + "\"", 2);
        }
        Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
        if (until == null) throw new CliException("postern: --until: expected " + Durations.POINT + ", got nothing", 2);
        Instant end = TimeOptions.until("--until", until, now);
        if (!end.isAfter(now)) throw new CliException("postern: --until: expected a time in the future, got " + end, 2);
        Duration max = config.outboundTls().maxOverride();
        if (Duration.between(now, end).compareTo(max) > 0) {
            throw new CliException("postern: --until: expected at most " + Durations.format(max) + " from now "
                    + "([policy] max_override in " + (config.source() == null ? "the configuration"
                    : config.source().toString()) + "), got " + end, 2);
        }
        if (l == Config.TlsLevel.FINGERPRINT) {
            var entry = config.outboundTls().entryFor(d);
            if (entry.map(e -> e.getValue().fingerprints()).orElse(config.outboundTls().defaultPolicy()
                    .fingerprints()).isEmpty()) {
                throw new CliException("postern: --level fingerprint: " + d + " has no pins (expected fingerprints"
                        + " in [outbound_tls.\"" + entry.map(Map.Entry::getKey).orElse(d) + "\"])", 2);
            }
        }
        if (reason == null || reason.isBlank()) {
            throw new CliException("postern: --reason: expected some words, got nothing", 2);
        }
        PolicyOverrides.Override o = new PolicyOverrides.Override(d, l, end, now, by, reason.strip());
        new PolicyOverrides(config.dataDir()).set(o, peer);
        return PolicyCommand.OverrideShown.of(o, now);
    }

    /**
     * Ends the override of {@code domain} early; returns its key. {@code reason}: why (null allowed from the shell,
     * which predates it). Exit 1 when there is none.
     */
    static String clear(Config config, String domain, String reason, String by, String peer)
            throws CliException, IOException {
        String d = PolicyCommand.domain(domain);
        String why = reason == null || reason.isBlank() ? null : reason.strip();
        if (!new PolicyOverrides(config.dataDir()).remove(d, by, peer, why)) {
            throw new CliException("postern: no override for " + d, 1);
        }
        return d;
    }

    @Override public Object list() {
        return list(config.get(), Instant.now());
    }

    @Override public Object set(Change c) throws Refused {
        try {
            return set(config.get(), c.domain(), c.level(), c.until(), c.reason(), operator(c.by()), c.peer());
        } catch (CliException e) {
            throw refused(e);
        } catch (IOException e) {
            throw new IllegalStateException("cannot write the overrides: " + e.getMessage(), e);
        }
    }

    @Override public Object clear(Change c) throws Refused {
        if (c.reason() == null || c.reason().isBlank()) {
            throw new Refused(400, "reason: expected some words, got nothing");
        }
        try {
            clear(config.get(), c.domain(), c.reason(), operator(c.by()), c.peer());
            return list();
        } catch (CliException e) {
            throw refused(e);
        } catch (IOException e) {
            throw new IllegalStateException("cannot write the overrides: " + e.getMessage(), e);
        }
    }

    /** The API names its fields without dashes: "--until" is "until". */
    private static Refused refused(CliException e) {
        String m = e.getMessage().replaceFirst("^postern: ", "").replaceFirst("^--", "");
        return new Refused(e.exitCode() == 1 ? 404 : 400, m);
    }

    private static String operator(String by) throws CliException {
        if (by == null) throw new CliException("postern: by: expected who is acting (a name), got nothing", 2);
        return QueueCommand.Operator.checked("by", by);
    }
}
