package dev.postern.cli;

import java.util.Locale;

/**
 * The warning {@code serve} gives when the config has no {@code hostname} and the machine's name, which stands in
 * for it, is a poor name for a mail server (other servers see it in the greeting, EHLO and Received headers, and
 * some refuse mail from a host that calls itself localhost). No lookup of its own: the config's validation has
 * already asked the system's resolver once for the machine's name (and fell back to "localhost" when it did not
 * resolve).
 */
final class HostnameCheck {
    private HostnameCheck() {}

    /** What is wrong with the machine's name {@code name} as a mail server's name, or null when nothing is. */
    static String problem(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        if (n.equals("localhost") || n.equals("localhost.localdomain")) {
            return "is \"" + name + "\" or does not resolve";
        }
        if (n.indexOf('.') < 0) return "\"" + name + "\" is not a fully-qualified domain name";
        return null;
    }

    /** The one log line, naming the file to set it in. */
    static String warning(String name, String file) {
        String problem = problem(name);
        return problem == null ? null : "no hostname in " + file + " and the machine's name " + problem
                + ": set hostname = \"mx.example.org\" there (this gateway's public name, with an address record)";
    }
}
