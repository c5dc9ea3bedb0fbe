package dev.postern.cli;

import dev.postern.config.Config;
import dev.postern.logging.LogEncoder;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/**
 * {@code postern serve}: runs the gateway until it is stopped: SIGTERM or SIGINT (Ctrl-C) stop it in order (exit 0),
 * SIGHUP reloads its configuration file ({@link Signals}).
 */
@Command(name = "serve", description = "Run the gateway. Without --config: $POSTERN_CONFIG, else /etc/postern/postern.toml, else the "
        + "embedded default on loopback.")
final class ServeCommand implements Callable<Integer> {
    private static final Logger log = LoggerFactory.getLogger(ServeCommand.class);
    @Mixin ConfigSource source;

    @Override public Integer call() throws Exception {
        // Every config problem serve would meet while starting, found first and reported as config check reports
        // it (exit 2); what remains for Gateway.start is the machine's (a port in use, a data directory locked).
        Config config = source.load(TlsFileCheck.SYSTEM, System.err::println);
        // Before the gateway's first line; POSTERN_LOG_FORMAT, when set, wins (one run's override, and the lines
        // written before the file was read were in its format already).
        if (System.getenv(LogEncoder.ENV) == null) LogEncoder.use(LogEncoder.Format.valueOf(config.log().format().name()));
        // Before the start: a SIGTERM during it waits for the start to end, then stops in order.
        Signals signals = Signals.install();
        if (!source.setsHostname()) {
            String warning = HostnameCheck.warning(config.hostname(), source.label());
            if (warning != null) log.warn("{}", warning);
        }
        Gateway gateway;
        try {
            gateway = Gateway.start(config);
        } catch (Gateway.StartException e) {
            throw new CliException("postern: " + e.getMessage(), 1);
        }
        gateway.reloadFrom(source::reread);
        System.out.println("Postern " + config.hostname() + " is running; data in "
                + config.dataDir().toAbsolutePath().normalize());
        System.out.println("Configuration: " + source.origin());
        List<InetSocketAddress> bound = gateway.boundAddresses();
        for (int i = 0; i < bound.size(); i++) {
            Config.Role role = config.listeners().get(i).role();
            System.out.printf("  %-12s %-22s %s%n", role.name().toLowerCase(), describe(bound.get(i)), switch (role) {
                case MX -> "SMTP, STARTTLS offered";
                case SUBMISSION -> "submission, STARTTLS required";
                case SUBMISSIONS -> "submission, implicit TLS (RFC 8314)";
            });
        }
        System.out.println("Local domains: " + String.join(", ", config.localDomains().stream().sorted().toList()));
        System.out.flush();
        while (true) {
            switch (signals.next()) {
                case RELOAD -> gateway.reload("SIGHUP");
                case STOP -> {
                    gateway.shutdown();
                    return 0;
                }
            }
        }
    }

    private static String describe(InetSocketAddress a) {
        String host = a.getAddress().getHostAddress();
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + a.getPort();
    }
}
