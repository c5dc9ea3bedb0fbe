package dev.postern.cli;

import dev.postern.acme.AcmeFiles;
import dev.postern.acme.AcmeRenewer;
import dev.postern.audit.RecordCodec;
import dev.postern.config.Config;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/**
 * {@code postern cert acme status|renew|revoke}: the certificates {@code [acme]} obtains. With a gateway running on
 * the data directory, the request goes to it through the control socket (its renewer does the work, so attempts
 * never overlap and the listeners serve the result at once); without one, the command does it on the data
 * directory itself and the gateway serves the result at its next start.
 */
@Command(name = "acme", mixinStandardHelpOptions = true, description = "ACME certificates ([acme]): status, renew "
        + "now, or revoke (and replace) the certificates served.")
final class CertAcmeCommand implements Callable<Integer> {
    @Mixin ConfigSource source;

    @Parameters(paramLabel = "ACTION", description = "status, renew or revoke")
    String action;

    @Override public Integer call() throws Exception {
        if (!List.of("status", "renew", "revoke").contains(action)) {
            throw new CliException("postern: cert acme " + action + ": expected status, renew or revoke", 2);
        }
        Config config = source.load();
        if (!config.tls().acme().enabled()) {
            throw new CliException("postern: [acme] enabled is false in " + source.origin()
                    + ": the gateway does not obtain its certificates by ACME", 2);
        }
        Path data = config.dataDir();
        String json;
        if (Gateway.runs(data)) {
            json = ControlClient.ask(data.resolve("control.sock"), "acme " + action);
        } else {
            AcmeRenewer renewer = new AcmeRenewer(config.tls().acme(), AcmeRenewer.names(config),
                    new AcmeFiles(data), Clock.systemUTC());
            if (!action.equals("status")) renewer.prepare(); // status only reads
            json = answer(renewer, action, System.getProperty("user.name"));
        }
        return print(json, action);
    }

    /** The gateway's answer to "acme WHAT": the status, or the lines of a renewal or revocation, as JSON. */
    static String answer(AcmeRenewer renewer, String what, String actor) throws QueueAdmin.Refused {
        try {
            return switch (what) {
                case "status" -> RecordCodec.mapper().writeValueAsString(renewer.status());
                case "renew" -> RecordCodec.mapper().writeValueAsString(renewer.renewNow());
                case "revoke" -> RecordCodec.mapper().writeValueAsString(renewer.revoke());
                default -> throw new QueueAdmin.Refused("acme: expected status, renew or revoke, got " + what);
            };
        } catch (IOException e) {
            throw new QueueAdmin.Refused("acme: " + e.getMessage());
        }
    }

    /** Prints the answer; 1 when a renewal or revocation failed for a slot, else 0. */
    private static int print(String json, String action) throws IOException {
        if (!action.equals("status")) {
            int exit = 0;
            for (String line : RecordCodec.mapper().readValue(json, String[].class)) {
                System.out.println(line);
                if (line.contains(": failed") || line.contains("revocation failed")) exit = 1;
            }
            return exit;
        }
        AcmeRenewer.Status s = RecordCodec.mapper().readValue(json, AcmeRenewer.Status.class);
        System.out.println("ACME " + s.directory() + " (" + s.challenge() + ") for " + String.join(", ", s.names()));
        for (AcmeRenewer.SlotStatus slot : s.slots()) {
            String what = slot.subject() == null ? "no certificate yet (the gateway puts a self-signed copy at its start)"
                    : slot.issued() ? "issued by " + slot.issuer() + ", valid " + slot.notBefore() + " to "
                    + slot.notAfter() + ", sha256 " + slot.sha256()
                    : "self-signed (no ACME certificate yet), valid to " + slot.notAfter();
            System.out.println(slot.keyType() + ": " + what);
            System.out.println("  next attempt: " + slot.nextAttempt()
                    + (slot.failures() == 0 ? "" : " after " + slot.failures() + " failure(s) in a row; last: "
                    + slot.lastFailure()));
        }
        return 0;
    }
}
