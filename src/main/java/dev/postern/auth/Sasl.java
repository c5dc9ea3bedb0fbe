package dev.postern.auth;

import dev.postern.smtp.Reply;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;

/**
 * The server side of the SASL exchanges of SMTP AUTH (RFC 4954) for PLAIN (RFC 4616) and LOGIN, as an immutable
 * state machine with no I/O. A session uses it like this:
 *
 * <pre>{@code
 * Sasl.Step step = Sasl.start(mechanism, initialResponse);   // "AUTH PLAIN [ir]"; ir null when absent
 * while (step instanceof Sasl.Challenge c) {
 *     write(c.wireLine());                                     // "334 <base64>\r\n"
 *     step = c.next(readLine());                               // the client's line, without CRLF
 * }
 * switch (step) {
 *     case Sasl.Done d -> { try (Credentials c = d.credentials()) { ok = passwords.verify(c); } }  // 235 / 535
 *     case Sasl.Failed f -> reply(f.reply());
 *     case Sasl.Challenge c -> throw new AssertionError();
 * }
 * }</pre>
 *
 * <p>The exchange only decodes; whether the password is right is {@link PasswordFile}'s business, answered with
 * {@link #SUCCEEDED} or {@link #INVALID}. An authorization identity (PLAIN's authzid) is accepted only when empty or
 * equal to the user: nobody may act as somebody else.
 */
public final class Sasl {
    private Sasl() {}

    /** The mechanisms offered, in order of preference: the EHLO keyword is {@code "AUTH " + String.join(" ", ...)}. */
    public static final List<String> MECHANISMS = List.of("PLAIN", "LOGIN");

    /** 235 after a password was verified. */
    public static final Reply SUCCEEDED = Reply.of(235, "2.7.0", "Authentication successful");
    /** 535 for a wrong user or password: the same reply for both, so it does not tell which names exist. */
    public static final Reply INVALID = Reply.of(535, "5.7.8", "Authentication credentials invalid");

    static final Reply CANCELLED = Reply.of(501, "5.0.0", "Authentication cancelled");
    static final Reply BAD_BASE64 = Reply.of(501, "5.5.2", "Cannot decode response: expected base64");
    static final Reply MALFORMED = Reply.of(501, "5.5.2", "Malformed authentication response");
    static final Reply UNSUPPORTED = Reply.of(504, "5.5.4", "Unrecognized authentication type; supported: PLAIN LOGIN");
    static final Reply OTHER_IDENTITY = Reply.of(535, "5.7.8",
            "Authentication credentials invalid: authorization identity must be empty or equal to the user");

    private static final String USERNAME = b64("Username:");
    private static final String PASSWORD = b64("Password:");

    /** Where an exchange stands: the server has a challenge to send, or it is over one way or the other. */
    public sealed interface Step permits Challenge, Done, Failed {}

    /**
     * The server sends {@code "334 " + base64()} and passes the client's answer to {@link #next(String)}. Immutable;
     * "*" from the client cancels the exchange (RFC 4954 §4).
     */
    public static final class Challenge implements Step {
        private final String base64;
        private final Function<byte[], Step> then;

        private Challenge(String base64, Function<byte[], Step> then) {
            this.base64 = base64;
            this.then = then;
        }

        /** The challenge, base64-encoded; empty for PLAIN's empty challenge. */
        public String base64() { return base64; }

        /** The reply line on the wire: {@code "334 " + base64 + "\r\n"} (the space is kept when empty, as in RFC 4954). */
        public String wireLine() { return "334 " + base64 + "\r\n"; }

        /** The next step for the client's line (without CRLF). */
        public Step next(String clientLine) {
            String line = clientLine.strip();
            if (line.equals("*")) return new Failed(CANCELLED);
            byte[] decoded = decode(line);
            return decoded == null ? new Failed(BAD_BASE64) : then.apply(decoded);
        }

        @Override public String toString() { return "Challenge[" + base64 + "]"; }
    }

    /** The client sent credentials; verify them, then wipe them ({@link Credentials#close()}). */
    public record Done(Credentials credentials) implements Step {}

    /** The exchange failed before any password check; send {@code reply} (501, 504 or 535). */
    public record Failed(Reply reply) implements Step {}

    /**
     * Starts an exchange for {@code AUTH mechanism [initialResponse]}. The mechanism is case-insensitive;
     * {@code initialResponse} is null (or empty) when the AUTH command had none, and "=" for an empty one.
     */
    public static Step start(String mechanism, String initialResponse) {
        String mech = mechanism.toUpperCase(Locale.ROOT);
        if (!MECHANISMS.contains(mech)) return new Failed(UNSUPPORTED);
        boolean hasInitial = initialResponse != null && !initialResponse.isEmpty();
        Function<byte[], Step> first = mech.equals("PLAIN") ? Sasl::plain : Sasl::loginUser;
        if (!hasInitial) return new Challenge(mech.equals("PLAIN") ? "" : USERNAME, first);
        if (initialResponse.equals("=")) return first.apply(new byte[0]);
        byte[] decoded = decode(initialResponse.strip());
        return decoded == null ? new Failed(BAD_BASE64) : first.apply(decoded);
    }

    /** RFC 4616: [authzid] NUL authcid NUL passwd. */
    private static Step plain(byte[] message) {
        try {
            int first = indexOf(message, 0);
            int second = first < 0 ? -1 : indexOf(message, first + 1);
            if (second < 0 || indexOf(message, second + 1) >= 0) return new Failed(MALFORMED);
            String authzid = utf8(message, 0, first);
            String authcid = utf8(message, first + 1, second);
            if (authzid == null || authcid == null || authcid.isEmpty()) return new Failed(MALFORMED);
            if (!authzid.isEmpty() && !authzid.equals(authcid)) return new Failed(OTHER_IDENTITY);
            return new Done(new Credentials(authcid, Arrays.copyOfRange(message, second + 1, message.length)));
        } finally {
            Arrays.fill(message, (byte) 0);
        }
    }

    /** LOGIN: the user name, then a challenge for the password. */
    private static Step loginUser(byte[] user) {
        String name = utf8(user, 0, user.length);
        if (name == null || name.isEmpty() || name.indexOf('\0') >= 0) return new Failed(MALFORMED);
        return new Challenge(PASSWORD, password -> new Done(new Credentials(name, password)));
    }

    /** Strict base64 (RFC 4648 alphabet, padding optional); null when it is not. */
    private static byte[] decode(String s) {
        try {
            return Base64.getDecoder().decode(s);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /** Strict UTF-8; null when the bytes are not. */
    private static String utf8(byte[] b, int from, int to) {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(b, from, to - from))
                    .toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }

    private static int indexOf(byte[] b, int from) {
        for (int i = from; i < b.length; i++) if (b[i] == 0) return i;
        return -1;
    }

    private static String b64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.US_ASCII));
    }
}
