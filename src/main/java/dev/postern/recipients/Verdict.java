package dev.postern.recipients;

/** What recipient validation says about one address at RCPT time. */
public sealed interface Verdict {
    /** The address exists (or the domain accepts any local part). */
    record Accepted() implements Verdict {}

    /** Not in the domain's recipients file: refuse with 550 5.1.1. */
    record Unknown() implements Verdict {}

    /** The next hop refused the address permanently; {@code reply} is what it said, for the log. */
    record Refused(String reply) implements Verdict {}

    /** The next hop could not say now (a 4xx, unreachable, timeout): refuse with 450 4.1.1; {@code why} for the log. */
    record Unverified(String why) implements Verdict {}

    Verdict ACCEPTED = new Accepted();
    Verdict UNKNOWN = new Unknown();
}
