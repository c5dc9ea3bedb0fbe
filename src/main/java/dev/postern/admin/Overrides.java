package dev.postern.admin;

/**
 * The timed overrides of outbound TLS policies as {@code postern policy override / clear / overrides} manage them.
 * {@code cli} implements it over the same code as those commands (the admin package does not reach into
 * {@code outbound}), so the API and the commands apply the same rules and write the same admin log.
 */
public interface Overrides {

    /** What {@code postern policy overrides --json} prints. */
    Object list();

    /** Sets (replaces) a domain's override; answers it as {@link #list} shows one. */
    Object set(Change change) throws Refused;

    /** Ends a domain's override early; answers the list after it. */
    Object clear(Change change) throws Refused;

    /**
     * One change as asked.
     *
     * @param level  the level's word (set only)
     * @param until  a duration from now, a time or a date (set only)
     * @param reason why; required
     * @param by     who (the name the administrator gives)
     * @param peer   the client's address, for the admin log
     */
    record Change(String domain, String level, String until, String reason, String by, String peer) { }

    /** A change refused: the HTTP status (400 bad input, 404 no such override) and one line saying why. */
    final class Refused extends Exception {
        private final int status;

        public Refused(int status, String message) {
            super(message, null, false, false);
            this.status = status;
        }

        public int status() { return status; }
    }
}
