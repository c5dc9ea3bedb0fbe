package dev.postern.config;

import com.fasterxml.jackson.databind.JsonNode;
import dev.postern.names.Domains;
import dev.postern.names.InvalidDomainException;
import dev.postern.recipients.RecipientList;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/** Validates {@code [recipients."domain"]}, {@code [recipient_verification]} and {@code [auth]}. */
final class RecipientsValidator {
    private static final String ENTRY = "a table with file and/or verify, like [recipients.\"example.com\"] "
            + "file = \"recipients.txt\"";

    private final Function<String, Path> readableFile;
    private final Problems problems;

    RecipientsValidator(Function<String, Path> readableFile, Problems problems) {
        this.readableFile = readableFile;
        this.problems = problems;
    }

    /** {@code [recipients]}: every key a local or relay domain, every value a table {@code file}, {@code verify}. */
    Map<String, Config.DomainRecipients> recipients(Table t, Set<String> localDomains, Set<String> relayDomains) {
        Set<String> local = ascii(localDomains), relay = ascii(relayDomains);
        Map<String, Config.DomainRecipients> out = new LinkedHashMap<>();
        Set<String> seen = new HashSet<>();
        for (String name : t.names()) {
            JsonNode v = t.raw(name);
            String domain;
            try {
                domain = Domains.toAscii(name);
            } catch (InvalidDomainException e) {
                t.problem(name, "expected a domain like example.com, got " + Syntax.quote(name) + " (" + e.getMessage()
                        + ")");
                continue;
            }
            if (!seen.add(domain)) { // checked first: one line for the second spelling, not one per key in it
                t.problem(name, "expected each domain once (" + Validator.SPELLING + "), got " + Syntax.quote(name)
                        + " again");
                continue;
            }
            // [recipients.example.com] unquoted is a dotted key: TOML makes a table "example" of tables of it.
            boolean dotted = v.isObject() && !v.isEmpty();
            for (JsonNode child : v) dotted &= child.isObject();
            // Other keys only (a misspelt "fil"): go on, so that the unknown key is the one line, with its suggestion.
            if (!v.isObject() || v.isEmpty() || dotted) {
                String hint = dotted ? " (quote domain keys, like [recipients.\"example.com\"])" : "";
                String got = v.isObject() && v.isEmpty() ? "an empty table" : Table.render(v);
                t.problem(name, "expected " + ENTRY + ", got " + got + hint);
                continue;
            }
            boolean isLocal = local.contains(domain), isRelay = relay.contains(domain);
            if (!isLocal && !isRelay) {
                t.problem(name, "expected a domain in local_domains or relay_domains, got " + Syntax.quote(name));
                continue;
            }
            Table d = new Table(v, t.key(name), problems);
            Path file = d.string("file", null, "a file path", this::recipientsFile);
            boolean verify = d.bool("verify", false);
            if (verify && isLocal) {
                d.problem("verify", "expected false for a local domain (verification asks a relay domain's next hop), "
                        + "got true");
            }
            d.finish();
            out.put(domain, new Config.DomainRecipients(file, verify));
        }
        return out;
    }

    /** A readable file that parses as a recipients list now: a mistake must show at "postern check", not at RCPT. */
    private Path recipientsFile(String text) {
        Path p = readableFile.apply(text);
        try {
            RecipientList.load(p);
        } catch (IOException e) {
            throw new IllegalArgumentException(e.getMessage()); // "FILE:LINE: expected ..., got ..."
        }
        return p;
    }

    Config.RecipientVerification verification(Table t) {
        Config.RecipientVerification d = Config.RecipientVerification.DEFAULT;
        Duration positive = t.duration("positive_ttl", d.positiveTtl());
        Duration negative = t.duration("negative_ttl", d.negativeTtl());
        int size = t.integer("cache_size", d.cacheSize(), 1, 10_000_000);
        Duration timeout = t.duration("timeout", d.timeout());
        int maxProbes = t.integer("max_probes", d.maxProbes(), 1, 1000);
        t.finish();
        return new Config.RecipientVerification(positive, negative, size, timeout, maxProbes);
    }

    Config.AuthLimits auth(Table t) {
        Config.AuthLimits d = Config.AuthLimits.DEFAULT;
        int maxFailures = t.integer("max_failures", d.maxFailures(), 1, 1000);
        Duration window = t.duration("window", d.window());
        Duration lockout = t.duration("lockout", d.lockout());
        Duration maxLockout = t.duration("max_lockout", d.maxLockout());
        int networkMaxFailures = t.integer("network_max_failures", d.networkMaxFailures(), 1, 1_000_000);
        Duration networkLockout = t.duration("network_lockout", d.networkLockout());
        int ipv4Prefix = t.integer("network_prefix_ipv4", d.ipv4Prefix(), 8, 32);
        int ipv6Prefix = t.integer("network_prefix_ipv6", d.ipv6Prefix(), 16, 128);
        Duration failureDelay = t.duration("failure_delay", d.failureDelay(), Duration.ZERO, Duration.ofSeconds(10));
        if (lockout.compareTo(maxLockout) > 0) {
            String key = t.has("lockout") ? "lockout" : "max_lockout";
            t.problem(key, "expected lockout (" + Durations.format(lockout) + ") at most max_lockout ("
                    + Durations.format(maxLockout) + "), got " + Table.render(t.raw(key)));
        }
        if (networkMaxFailures < maxFailures) {
            String key = t.has("network_max_failures") ? "network_max_failures" : "max_failures";
            t.problem(key, "expected network_max_failures (" + networkMaxFailures + ") at least max_failures ("
                    + maxFailures + "), got " + Table.render(t.raw(key)));
        }
        t.finish();
        return new Config.AuthLimits(maxFailures, window, lockout, maxLockout, networkMaxFailures, networkLockout,
                ipv4Prefix, ipv6Prefix, failureDelay);
    }

    private static Set<String> ascii(Set<String> domains) {
        Set<String> out = new java.util.HashSet<>();
        for (String d : domains) {
            String a = Domains.toAsciiOrNull(d);
            if (a != null) out.add(a);
        }
        return out;
    }
}
