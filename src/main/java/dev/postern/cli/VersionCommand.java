package dev.postern.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code postern version}. */
@Command(name = "version", description = "Print the version.")
final class VersionCommand implements Runnable, CommandLine.IVersionProvider {
    static String version() {
        String v = Main.class.getPackage().getImplementationVersion();
        return "Postern " + (v == null ? "(development build)" : v) + " on Java " + Runtime.version();
    }

    @Override public String[] getVersion() { return new String[] {version()}; }

    @Override public void run() { System.out.println(version()); }
}
