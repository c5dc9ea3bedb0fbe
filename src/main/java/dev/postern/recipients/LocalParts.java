package dev.postern.recipients;

import java.util.Locale;

/** How local parts are compared: unquoted ({@code "john"} is {@code john}, RFC 5321 §2.4) and case-insensitive. */
public final class LocalParts {
    private LocalParts() {}

    /** The content of a quoted local part, escapes resolved ({@code "a\"b"} is {@code a"b}); others as they are. */
    public static String unquote(String local) {
        if (local.length() < 2 || local.charAt(0) != '"' || local.charAt(local.length() - 1) != '"') return local;
        StringBuilder b = new StringBuilder(local.length());
        for (int i = 1; i < local.length() - 1; i++) {
            char c = local.charAt(i);
            if (c == '\\' && i + 1 < local.length() - 1) c = local.charAt(++i);
            b.append(c);
        }
        return b.toString();
    }

    /** The form two local parts are compared in: unquoted, lower case. */
    public static String key(String local) {
        return unquote(local).toLowerCase(Locale.ROOT);
    }
}
