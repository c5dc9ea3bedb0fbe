package dev.postern.logging;

/**
 * The one rule for a string a client or a remote server chose (an EHLO name, an address, a reply, a user name) before
 * it goes on a log line: at most {@link #MAX} characters, the rest replaced by a count. Escaping is the encoder's job
 * (both formats escape quotes, backslashes and control characters), so this only bounds the line.
 */
public final class Untrusted {
    /** Longer than any valid EHLO name (255), path (256) or one-line reply (512): only hostile input is cut. */
    public static final int MAX = 600;

    private Untrusted() {}

    /** {@code s} cut to {@link #MAX} characters with "...[N more]" appended when longer; null stays null. */
    public static String clip(String s) {
        if (s == null || s.length() <= MAX) return s;
        int end = Character.isHighSurrogate(s.charAt(MAX - 1)) ? MAX - 1 : MAX; // never half a surrogate pair
        return s.substring(0, end) + "...[" + (s.length() - end) + " more]";
    }

    /** {@code <address>} as Postfix writes it ({@code <>} for the null sender), clipped. */
    public static String address(String address) {
        return "<" + clip(address == null ? "" : address) + ">";
    }
}
