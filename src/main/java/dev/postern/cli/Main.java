package dev.postern.cli;

import picocli.CommandLine;

/** The {@code postern} command. Exit codes: 0 success, 1 failure at run time, 2 bad usage or bad configuration. */
public final class Main {
    private Main() {}

    public static void main(String[] args) {
        // Before any TLS class reads it: a client may not renegotiate TLS 1.2 (a cheap CPU DoS; testssl.sh: MEDIUM).
        System.setProperty("jdk.tls.rejectClientInitiatedRenegotiation", "true");
        String format = System.getenv(dev.postern.logging.LogEncoder.ENV);
        if (format != null && dev.postern.logging.LogEncoder.Format.of(format) == null) {
            System.err.println("postern: " + dev.postern.logging.LogEncoder.ENV + "=\"" + format
                    + "\": expected logfmt or json");
            System.exit(2);
        }
        System.exit(run(args));
    }

    /** Runs the CLI without exiting the JVM (tests call this). */
    public static int run(String... args) {
        return run(ConfigDefaults.system(), args);
    }

    /** Runs the CLI with {@code defaults} as the environment and system file that locate the configuration. */
    static int run(ConfigDefaults defaults, String... args) {
        return ScopedValue.where(ConfigDefaults.CURRENT, defaults).call(() -> execute(args));
    }

    private static int execute(String... args) {
        CommandLine cli = new CommandLine(new PosternCommand());
        cli.setParameterExceptionHandler((e, a) -> {
            e.getCommandLine().getErr().println("postern: " + e.getMessage()
                    + " (see '" + e.getCommandLine().getCommandSpec().qualifiedName() + " --help')");
            return 2;
        });
        cli.setExecutionExceptionHandler((e, parsed, result) -> {
            if (e instanceof CliException c) {
                parsed.getErr().println(c.getMessage());
                return c.exitCode();
            }
            parsed.getErr().println("postern: " + e);
            return 1;
        });
        return cli.execute(args);
    }
}
