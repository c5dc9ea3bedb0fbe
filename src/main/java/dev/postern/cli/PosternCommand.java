package dev.postern.cli;

import picocli.CommandLine.Command;

/** The top-level command; its subcommands do the work. */
@Command(name = "postern", mixinStandardHelpOptions = true, scope = picocli.CommandLine.ScopeType.INHERIT,
        versionProvider = VersionCommand.class,
        description = "A mail gateway that makes TLS between organisations enforceable, verifiable and auditable.",
        subcommands = {ServeCommand.class, ConfigCommand.class, QueueCommand.class, AuditCommand.class,
                PolicyCommand.class, MtaStsCommand.class, UserCommand.class, CertCommand.class, TraceCommand.class, ReceiptCommand.class,
                ReportCommand.class, CertsCommand.class, DomainsCommand.class, TlsCommand.class, ProbeCommand.class, ImportCommand.class,
                ReloadCommand.class, AdminCommand.class, TlsRptSendCommand.class, VersionCommand.class, AlertsCommand.class})
final class PosternCommand implements Runnable {
    @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

    @Override public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }
}
