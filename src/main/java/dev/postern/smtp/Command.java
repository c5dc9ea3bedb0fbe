package dev.postern.smtp;

/**
 * One command line from a client, split into its verb (upper-cased) and the rest. Verbs we do not know parse to
 * {@link Verb#UNKNOWN}; the argument is the text after the first space, never null (empty when absent).
 */
public record Command(Verb verb, String argument) {

    public enum Verb { EHLO, HELO, MAIL, RCPT, DATA, BDAT, RSET, NOOP, QUIT, VRFY, EXPN, HELP, STARTTLS, AUTH, UNKNOWN }

    /**
     * Parses a command line (without CRLF). Never throws; "MAIL FROM:<a@b>" gives (MAIL, "FROM:<a@b>").
     * The verb matches ASCII case-insensitively only (no Unicode case folding tricks); trailing spaces are removed
     * from the argument, leading ones after the first space are kept. A null line gives (UNKNOWN, "").
     */
    public static Command parse(String line) {
        if (line == null) return new Command(Verb.UNKNOWN, "");
        int sp = line.indexOf(' ');
        String word = sp < 0 ? line : line.substring(0, sp);
        String arg = sp < 0 ? "" : stripTrailingSpaces(line.substring(sp + 1));
        return new Command(verb(word), arg);
    }

    private static Verb verb(String word) {
        String upper = asciiUpper(word);
        if (upper == null || upper.equals("UNKNOWN")) return Verb.UNKNOWN;
        try {
            return Verb.valueOf(upper);
        } catch (IllegalArgumentException e) {
            return Verb.UNKNOWN;
        }
    }

    /** ASCII-only upper-casing; null when the word holds anything but ASCII letters. */
    private static String asciiUpper(String word) {
        if (word.isEmpty() || word.length() > 16) return null;
        char[] out = new char[word.length()];
        for (int i = 0; i < out.length; i++) {
            char c = word.charAt(i);
            if (c >= 'a' && c <= 'z') c = (char) (c - 32);
            else if (c < 'A' || c > 'Z') return null;
            out[i] = c;
        }
        return new String(out);
    }

    private static String stripTrailingSpaces(String s) {
        int end = s.length();
        while (end > 0 && s.charAt(end - 1) == ' ') end--;
        return s.substring(0, end);
    }
}
