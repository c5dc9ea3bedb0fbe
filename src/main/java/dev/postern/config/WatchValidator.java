package dev.postern.config;

import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Locale;

/** Validates {@code [admin]}, {@code [alerts]}, {@code [probes]} and {@code [tls_rpt]}: watching the gateway. */
final class WatchValidator {
    private static final String LISTEN = "host:port like 127.0.0.1:8025, or \"\" for no admin server";
    private static final String WEBHOOK = "an http:// or https:// URL like https://hooks.example.net/postern";
    private static final String ADDRESS = "a mail address like postmaster@example.com";

    Config.Watch watch(Table top) {
        return new Config.Watch(admin(top.table("admin")), alerts(top.table("alerts")), probes(top.table("probes")),
                tlsRpt(top.table("tls_rpt")));
    }

    private static Config.Admin admin(Table t) {
        Config.Admin d = Config.Admin.DEFAULT;
        InetSocketAddress listen = t.string("listen", d.listen(), LISTEN,
                s -> s.isEmpty() ? null : Config.Listener.parseAddress(s));
        boolean tls = t.bool("tls", d.tls());
        t.finish();
        return new Config.Admin(listen, tls);
    }

    private static Config.Alerts alerts(Table t) {
        Config.Alerts d = Config.Alerts.DEFAULT;
        URI webhook = t.string("webhook", d.webhook(), WEBHOOK, WatchValidator::webhook);
        String mailTo = t.string("mail_to", d.mailTo(), ADDRESS, WatchValidator::address);
        Duration certificateWarning = t.duration("certificate_warning", d.certificateWarning(), Duration.ofDays(1),
                Duration.ofDays(365));
        int queueSize = t.integer("queue_size", d.queueSize(), 1, 100_000_000);
        Duration queueAge = t.duration("queue_age", d.queueAge(), Duration.ofMinutes(1), Duration.ofDays(365));
        t.finish();
        return new Config.Alerts(webhook, mailTo, certificateWarning, queueSize, queueAge);
    }

    private static Config.Probes probes(Table t) {
        Config.Probes d = Config.Probes.DEFAULT;
        boolean enabled = t.bool("enabled", d.enabled());
        Duration interval = t.duration("interval", d.interval(), Duration.ofMinutes(1), Duration.ofDays(7));
        Duration timeout = t.duration("timeout", d.timeout(), Duration.ofSeconds(1), Duration.ofMinutes(10));
        List<String> domains = t.list("domains", d.domains(), "an array of domains like [\"bank.example\"]",
                "a domain like bank.example", Syntax::domain);
        t.finish();
        return new Config.Probes(enabled, interval, timeout, domains);
    }

    private static Config.TlsRpt tlsRpt(Table t) {
        Config.TlsRpt d = Config.TlsRpt.DEFAULT;
        boolean send = t.bool("send", d.send());
        String organization = t.string("organization", d.organization(),
                "an organization name of 1 to 200 printable characters", WatchValidator::organization);
        String contact = t.string("contact", d.contact(), ADDRESS + " or a URL", WatchValidator::contact);
        String from = t.string("from", d.from(), ADDRESS, WatchValidator::address);
        String receive = t.string("receive_address", d.receiveAddress(), ADDRESS, WatchValidator::address);
        long maxReportSize = t.size("max_report_size", d.maxReportSize(), 64L << 10, 1L << 30);
        t.finish();
        return new Config.TlsRpt(send, organization, contact, from, receive, maxReportSize);
    }

    private static URI webhook(String s) {
        return url(s, java.util.Set.of("http", "https"), WEBHOOK + " (no user:password in it)");
    }

    /** A URL with one of {@code schemes} (lower case), a host and no user:password, or {@code expected} as the problem. */
    static URI url(String s, java.util.Set<String> schemes, String expected) {
        URI u;
        try {
            u = new URI(s);
        } catch (java.net.URISyntaxException e) {
            throw Syntax.invalid(expected, s);
        }
        String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase(Locale.ROOT);
        if (!schemes.contains(scheme) || u.getHost() == null || u.getUserInfo() != null) {
            throw Syntax.invalid(expected, s);
        }
        return u;
    }

    /** local@domain with the domain in lookup form; the local part printable ASCII without spaces or angle brackets. */
    static String address(String s) {
        int at = s.lastIndexOf('@');
        if (at <= 0 || at == s.length() - 1) throw Syntax.invalid(ADDRESS, s);
        String local = s.substring(0, at);
        if (local.length() > 64 || !local.chars().allMatch(c -> c > 0x20 && c < 0x7f && c != '<' && c != '>')) {
            throw Syntax.invalid(ADDRESS, s);
        }
        return local + "@" + Syntax.domain(s.substring(at + 1));
    }

    private static String contact(String s) {
        if (s.startsWith("http://") || s.startsWith("https://") || s.startsWith("mailto:")) {
            if (s.length() > 500 || !s.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
                throw Syntax.invalid(ADDRESS + " or a URL", s);
            }
            return s;
        }
        return address(s);
    }

    private static String organization(String s) {
        if (s.isBlank() || s.length() > 200 || s.chars().anyMatch(Character::isISOControl)) {
            throw Syntax.invalid("an organization name of 1 to 200 printable characters", s);
        }
        return s;
    }
}
