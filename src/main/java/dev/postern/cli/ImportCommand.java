package dev.postern.cli;

import dev.postern.files.DurableFiles;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code postern import ...}: another MTA's settings as Postern's configuration. */
@Command(name = "import", description = "Convert another MTA's settings into Postern's configuration.",
        subcommands = ImportCommand.PostfixTls.class)
final class ImportCommand {

    @Command(name = "postfix-tls-policy", description = "Convert a Postfix smtp_tls_policy_maps source file (the "
            + "text before postmap) into [outbound_tls.\"domain\"] tables, printed or written with --output. What "
            + "cannot be converted is listed at the end as TOML comments and on standard error, with the reason.")
    static final class PostfixTls implements Callable<Integer> {
        /**
         * Far above any real policy table (Postfix's are kilobytes; 8 MiB is over 100,000 entries), and small enough
         * that reading and decoding it stays well within the CLI's 128 MiB heap (scripts/jvm.options).
         */
        static final int MAX_BYTES = 8 << 20;
        @Parameters(paramLabel = "FILE") Path file;
        @Option(names = "--output", paramLabel = "FILE", description = "Write the tables to FILE instead of "
                + "standard output (append them to your postern.toml, or check them with postern config check).")
        Path output;
        @Option(names = "--force", description = "Replace --output FILE when it exists.") boolean force;

        @Override public Integer call() throws CliException {
            List<String> lines;
            try {
                byte[] bytes;
                try (java.io.InputStream in = Files.newInputStream(file)) {
                    bytes = in.readNBytes(MAX_BYTES + 1); // a device or a disk image named by mistake: bounded
                }
                if (bytes.length > MAX_BYTES) {
                    throw new CliException("postern: " + file + ": expected a Postfix policy table of at most "
                            + (MAX_BYTES >> 20) + " MiB; this is larger (not a policy table?)", 2);
                }
                String text;
                try {
                    text = StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(bytes)).toString();
                } catch (CharacterCodingException e) {
                    text = new String(bytes, StandardCharsets.ISO_8859_1); // Postfix tables are bytes: keep them all
                }
                lines = text.lines().toList();
            } catch (IOException e) {
                throw new CliException("postern: " + file + ": cannot read it (" + e.getClass().getSimpleName()
                        + ": " + e.getMessage() + ")", 2);
            }
            if (output != null && Files.exists(output) && !force) {
                throw new CliException("postern: --output " + output + ": exists; --force replaces it", 2);
            }
            PostfixTlsPolicy.Result r = PostfixTlsPolicy.convert(lines, file.toString());
            if (output == null) {
                System.out.print(r.toml());
                System.out.flush();
            } else {
                try {
                    DurableFiles.SYSTEM.write(output, r.toml().getBytes(StandardCharsets.UTF_8),
                            DurableFiles.PUBLIC_FILE);
                } catch (IOException e) {
                    throw new CliException("postern: --output " + output + ": cannot write it (" + e.getMessage()
                            + ")", 1);
                }
            }
            for (PostfixTlsPolicy.Unmapped u : r.unmapped()) {
                System.err.println("postern: " + file + ":" + u.line() + ": not converted: "
                        + u.describe().substring(u.describe().indexOf(": ") + 2));
            }
            if (output != null) {
                System.err.println("postern: " + output + ": " + r.tables() + " table(s) written, "
                        + r.unmapped().size() + " item(s) not converted");
            }
            return 0;
        }
    }
}
