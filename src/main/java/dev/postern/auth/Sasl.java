package dev.postern.auth;

import dev.postern.smtp.Reply;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The server side of the SASL exchanges of SMTP AUTH (RFC 4954) for SCRAM-SHA-256 (RFC 5802, RFC 7677; without
 * channel binding), PLAIN (RFC 4616) and LOGIN, as an immutable state machine with no I/O. A session uses it like
 * this:
 *
 * <pre>{@code
 * Sasl.Step step = Sasl.start(mechanism, initialResponse, passwords);  // "AUTH MECH [ir]"; ir null when absent
 * while (step instanceof Sasl.Challenge c) {
 *     write(c.wireLine());                                     // "334 <base64>\r\n"
 *     step = c.next(readLine());                               // the client's line, without CRLF
 * }
 * switch (step) {
 *     case Sasl.Done d -> { try (Credentials c = d.credentials()) { ok = passwords.verify(c); } }  // 235 / 535
 *     case Sasl.Authenticated a -> ok = true;                  // 235: SCRAM verified the proof itself
 *     case Sasl.Invalid i -> ok = false;                       // 535: SCRAM found the proof wrong
 *     case Sasl.Failed f -> reply(f.reply());                  // not a credentials check: no failure counted
 *     case Sasl.Challenge c -> throw new AssertionError();
 * }
 * }</pre>
 *
 * <p>PLAIN and LOGIN only decode; whether the password is right is {@link PasswordFile}'s business, answered with
 * {@link #SUCCEEDED} or {@link #INVALID}. SCRAM cannot work that way: the server must look up the user's salt and
 * iteration count in the middle of the exchange, and only it can check the client's proof, so it is given a
 * {@link Scram.Store} and ends in {@link Authenticated} or {@link Invalid}. An authorization identity (PLAIN's
 * authzid, SCRAM's {@code a=}) is accepted only when empty or equal to the user: nobody may act as somebody else.
 *
 * <p>SCRAM on the wire: {@code AUTH SCRAM-SHA-256 [client-first]}; {@code 334 server-first}; client-final; if the
 * proof is right, {@code 334 v=ServerSignature} (base64, like every challenge) and the client answers with an empty
 * line, then {@code 235}. (RFC 4954 §4 would also allow the server-final message as additional data in the 235
 * reply; a 334 challenge is what more clients understand, and it keeps 235 the same for every mechanism.) A wrong
 * proof, an unknown user and a user without SCRAM secrets all get {@code 535} after the client-final message, with a
 * salt and iteration count in between that look like a real user's ({@link Scram.Store#mockSecrets}), so the
 * exchange does not tell which names exist. The gs2 header must be {@code n,} or {@code y,} (the client does not
 * support channel binding, or thinks the server does not; SCRAM-SHA-256-PLUS is not offered); {@code p=} is
 * refused with {@link #NO_CHANNEL_BINDING}.
 */
public final class Sasl {
    private Sasl() {}

    /** The mechanisms offered, in order of preference: the EHLO keyword is {@code "AUTH " + String.join(" ", ...)}. */
    public static final List<String> MECHANISMS = List.of(Scram.MECHANISM, "PLAIN", "LOGIN");

    /** 235 after a password was verified. */
    public static final Reply SUCCEEDED = Reply.of(235, "2.7.0", "Authentication successful");
    /** 535 for a wrong user or password: the same reply for both, so it does not tell which names exist. */
    public static final Reply INVALID = Reply.of(535, "5.7.8", "Authentication credentials invalid");

    static final Reply CANCELLED = Reply.of(501, "5.0.0", "Authentication cancelled");
    static final Reply BAD_BASE64 = Reply.of(501, "5.5.2", "Cannot decode response: expected base64");
    static final Reply MALFORMED = Reply.of(501, "5.5.2", "Malformed authentication response");
    static final Reply UNSUPPORTED = Reply.of(504, "5.5.4", "Unrecognized authentication type; supported: "
            + String.join(" ", MECHANISMS));
    /** SCRAM with channel binding ({@code p=} in the gs2 header): only SCRAM-SHA-256 without it is offered. */
    static final Reply NO_CHANNEL_BINDING = Reply.of(535, "5.7.8",
            "Channel binding is not supported: SCRAM-SHA-256-PLUS is not offered");
    static final Reply SCRAM_EXTENSION = Reply.of(501, "5.5.2",
            "Malformed authentication response: mandatory SCRAM extensions are not supported");
    static final Reply SCRAM_MISMATCH = Reply.of(535, "5.7.8",
            "Authentication credentials invalid: nonce or channel binding does not match");
    static final Reply OTHER_IDENTITY = Reply.of(535, "5.7.8",
            "Authentication credentials invalid: authorization identity must be empty or equal to the user");

    private static final String USERNAME = b64("Username:");
    private static final String PASSWORD = b64("Password:");

    /** Where an exchange stands: the server has a challenge to send, or it is over one way or the other. */
    public sealed interface Step permits Challenge, Done, Authenticated, Invalid, Failed {}

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

    /** PLAIN, LOGIN: the client sent credentials; verify them, then wipe them ({@link Credentials#close()}). */
    public record Done(Credentials credentials) implements Step {}

    /** SCRAM: the client proved that it knows {@code user}'s password; answer {@link #SUCCEEDED}. */
    public record Authenticated(String user) implements Step {}

    /**
     * SCRAM: the client's proof was wrong, or {@code user} does not exist or has no SCRAM secrets (which are not told
     * apart); a failed attempt: answer {@link #INVALID}. {@code user} is as the client sent it.
     */
    public record Invalid(String user) implements Step {}

    /** The exchange failed before any password check; send {@code reply} (501, 504 or 535). */
    public record Failed(Reply reply) implements Step {}

    /**
     * {@link #start(String, String, Scram.Store)} without any SCRAM secrets: for PLAIN and LOGIN, which need no
     * lookup (SCRAM then fails for everybody, as for unknown users).
     */
    public static Step start(String mechanism, String initialResponse) {
        return start(mechanism, initialResponse, PasswordFile.empty());
    }

    /**
     * Starts an exchange for {@code AUTH mechanism [initialResponse]}. The mechanism is case-insensitive;
     * {@code initialResponse} is null (or empty) when the AUTH command had none, and "=" for an empty one.
     * {@code scram} is where SCRAM-SHA-256 looks up the user's secrets (a {@link PasswordFile}); it is asked once, when
     * the client-first message arrives, and must not block.
     */
    public static Step start(String mechanism, String initialResponse, Scram.Store scram) {
        return start(mechanism, initialResponse, scram, Scram::nonce);
    }

    /** As above, with the server part of SCRAM nonces from {@code serverNonce} (tests: RFC 7677's example). */
    static Step start(String mechanism, String initialResponse, Scram.Store scram, Supplier<String> serverNonce) {
        Objects.requireNonNull(scram, "scram");
        String mech = mechanism.toUpperCase(Locale.ROOT);
        if (!MECHANISMS.contains(mech)) return new Failed(UNSUPPORTED);
        boolean hasInitial = initialResponse != null && !initialResponse.isEmpty();
        Function<byte[], Step> first = switch (mech) {
            case "PLAIN" -> Sasl::plain;
            case "LOGIN" -> Sasl::loginUser;
            default -> message -> scramClientFirst(message, scram, serverNonce);
        };
        if (!hasInitial) return new Challenge(mech.equals("LOGIN") ? USERNAME : "", first);
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

    /**
     * SCRAM client-first-message (RFC 5802 §7): {@code gs2-cbind-flag "," [authzid] "," [reserved-mext ","]
     * username "," nonce ["," extensions]}; answered with the server-first-message {@code r=,s=,i=}.
     */
    private static Step scramClientFirst(byte[] message, Scram.Store store, Supplier<String> serverNonce) {
        String text = utf8(message, 0, message.length);
        if (text == null) return new Failed(MALFORMED);
        if (text.startsWith("p=")) return new Failed(NO_CHANNEL_BINDING);
        if (!text.startsWith("n,") && !text.startsWith("y,")) return new Failed(MALFORMED);
        int end = text.indexOf(',', 2);
        if (end < 0) return new Failed(MALFORMED);
        String authzid = null;
        if (end > 2) {
            if (!text.startsWith("a=", 2)) return new Failed(MALFORMED);
            authzid = saslName(text.substring(4, end));
            if (authzid == null || authzid.isEmpty()) return new Failed(MALFORMED);
        }
        String gs2Header = text.substring(0, end + 1);
        String bare = text.substring(end + 1);
        String[] attributes = bare.split(",", -1);
        if (attributes[0].startsWith("m=")) return new Failed(SCRAM_EXTENSION);
        if (attributes.length < 2 || !attributes[0].startsWith("n=") || !attributes[1].startsWith("r=")
                || !extensions(attributes, 2, attributes.length)) {
            return new Failed(MALFORMED);
        }
        String user = saslName(attributes[0].substring(2));
        String clientNonce = attributes[1].substring(2);
        if (user == null || user.isEmpty() || !printable(clientNonce)) return new Failed(MALFORMED);
        if (authzid != null && !authzid.equals(user)) return new Failed(OTHER_IDENTITY);

        Scram.Secrets real = store.scramSecrets(user);
        Scram.Secrets mock = store.mockSecrets(user); // for everybody: the same work whether the user exists or not
        Scram.Secrets secrets = real != null ? real : mock;
        String nonce = clientNonce + serverNonce.get();
        String serverFirst = "r=" + nonce + ",s=" + Base64.getEncoder().encodeToString(secrets.salt()) + ",i="
                + secrets.iterations();
        return new Challenge(b64(serverFirst), clientFinal -> scramClientFinal(clientFinal, gs2Header, bare,
                serverFirst, nonce, user, real != null, secrets));
    }

    /**
     * SCRAM client-final-message: {@code "c=" base64(gs2-header) ",r=" nonce ["," extensions] ",p=" ClientProof}.
     * The proof is right when {@code H(ClientProof XOR HMAC(StoredKey, AuthMessage)) == StoredKey}; then the
     * server-final-message {@code v=} is the last challenge, which the client answers with an empty line.
     */
    private static Step scramClientFinal(byte[] message, String gs2Header, String clientFirstBare, String serverFirst,
                                         String nonce, String user, boolean known, Scram.Secrets secrets) {
        String text = utf8(message, 0, message.length);
        if (text == null) return new Failed(MALFORMED);
        int p = text.lastIndexOf(",p=");
        if (p < 0) return new Failed(MALFORMED);
        String withoutProof = text.substring(0, p);
        byte[] proof = decode(text.substring(p + 3));
        String[] attributes = withoutProof.split(",", -1);
        if (proof == null || proof.length != 32 || attributes.length < 2 || !attributes[0].startsWith("c=")
                || !attributes[1].startsWith("r=") || !extensions(attributes, 2, attributes.length)) {
            return new Failed(MALFORMED);
        }
        byte[] channelBinding = decode(attributes[0].substring(2));
        if (channelBinding == null) return new Failed(MALFORMED);
        if (!Arrays.equals(channelBinding, gs2Header.getBytes(StandardCharsets.UTF_8))
                || !attributes[1].substring(2).equals(nonce)) {
            return new Failed(SCRAM_MISMATCH);
        }
        byte[] authMessage = (clientFirstBare + "," + serverFirst + "," + withoutProof)
                .getBytes(StandardCharsets.UTF_8);
        byte[] clientKey = Scram.hmac(secrets.storedKey(), authMessage);
        for (int i = 0; i < clientKey.length; i++) clientKey[i] ^= proof[i];
        boolean right = MessageDigest.isEqual(Scram.sha256(clientKey), secrets.storedKey());
        Arrays.fill(clientKey, (byte) 0);
        if (!right || !known) return new Invalid(user);
        String serverFinal = "v=" + Base64.getEncoder().encodeToString(Scram.hmac(secrets.serverKey(), authMessage));
        return new Challenge(b64(serverFinal), answer -> answer.length == 0 ? new Authenticated(user)
                : new Failed(MALFORMED));
    }

    /** SCRAM's saslname: "=2C" is ",", "=3D" is "=", any other "=" or a "," is an error (null). */
    private static String saslName(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == ',') return null;
            if (c == '=') {
                if (s.startsWith("=2C", i)) b.append(',');
                else if (s.startsWith("=3D", i)) b.append('=');
                else return null;
                i += 2;
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

    /** Whether {@code attributes[from..to)} are SCRAM extensions ({@code ALPHA "=" value}); they are ignored. */
    private static boolean extensions(String[] attributes, int from, int to) {
        for (int i = from; i < to; i++) {
            String a = attributes[i];
            if (a.length() < 2 || a.charAt(1) != '=' || !(a.charAt(0) >= 'a' && a.charAt(0) <= 'z'
                    || a.charAt(0) >= 'A' && a.charAt(0) <= 'Z')) {
                return false;
            }
        }
        return true;
    }

    /** RFC 5802's "printable": %x21-2B / %x2D-7E, at least one. */
    private static boolean printable(String s) {
        if (s.isEmpty()) return false;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x21 || c > 0x7e || c == ',') return false;
        }
        return true;
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
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }
}
