package dev.postern.cli;

import dev.postern.admin.AdminToken;
import dev.postern.audit.AdminLog;
import dev.postern.audit.AdminRecord;
import dev.postern.config.Config;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code postern admin ...}: the admin server's token. */
@Command(name = "admin", description = "The admin server (API, dashboard, metrics): its token.",
        subcommands = AdminCommand.Token.class)
final class AdminCommand {

    @Command(name = "token", description = "Print the admin token (data/admin/token), for scripts: curl -H "
            + "\"Authorization: Bearer $(postern admin token)\". With --rotate, make a new one: a running gateway "
            + "uses it from its next request, the old one stops working; recorded in data/admin.log and the audit.")
    static final class Token implements Callable<Integer> {
        @Mixin ConfigSource source;
        @Option(names = "--rotate", description = "Replace the token with a new random one, and print it.")
        boolean rotate;
        @Mixin QueueCommand.Operator operator;

        @Override public Integer call() throws Exception {
            Config config = source.load();
            Path data = config.dataDir();
            Path file = AdminToken.file(data);
            if (!rotate) {
                if (!Files.exists(file)) {
                    throw new CliException("postern: no admin token in " + file + " (the gateway makes one at its "
                            + "first start; --rotate makes one now)", 1);
                }
                try {
                    System.out.println(AdminToken.read(file));
                } catch (IOException e) {
                    throw new CliException("postern: cannot read the admin token: " + e.getMessage(), 1);
                }
                return 0;
            }
            String by = operator.name();
            if (!Files.isDirectory(data)) {
                throw new CliException("postern: no data directory " + data + " (wrong --data or --config?)", 1);
            }
            String token;
            try {
                token = AdminToken.write(data);
            } catch (IOException e) {
                throw new CliException("postern: cannot write " + file + ": " + e.getMessage(), 1);
            }
            // the token never goes to the log or the audit: only that it changed, and who changed it
            AdminLog.Entry entry = new AdminLog.Entry(Instant.now(), by, null, AdminRecord.Action.ADMIN_TOKEN_ROTATED,
                    file.toString(), "new admin token; the previous one no longer works");
            AdminLog.in(data).append(entry);
            System.out.println(token);
            try {
                AuditAccess.ask(config, store -> {
                    store.write(List.of(entry.record()));
                    return null;
                });
            } catch (CliException e) {
                System.err.println(e.getMessage() + " (the rotation is in " + AdminLog.in(data).file() + ")");
            }
            return 0;
        }
    }
}
