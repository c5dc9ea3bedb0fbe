package dev.postern.cli;

import dev.postern.config.Config;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code postern serve}: runs the gateway until it is stopped (SIGTERM / Ctrl-C). */
@Command(name = "serve", description = "Run the gateway. Without --config: $POSTERN_CONFIG, else /etc/postern/postern.toml, else the "
        + "embedded default on loopback.")
final class ServeCommand implements Callable<Integer> {
    @Mixin ConfigSource source;

    @Override public Integer call() throws Exception {
        Config config = source.load();
        Gateway gateway;
        try {
            gateway = Gateway.start(config);
        } catch (Gateway.StartException e) {
            throw new CliException("postern: " + e.getMessage(), 1);
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            gateway.close();
            stopped.countDown();
        }, "shutdown"));
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
        stopped.await();
        return 0;
    }

    private static String describe(InetSocketAddress a) {
        String host = a.getAddress().getHostAddress();
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + a.getPort();
    }
}
