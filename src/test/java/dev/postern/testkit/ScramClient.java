package dev.postern.testkit;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * The client side of SCRAM-SHA-256 (RFC 5802, RFC 7677) for tests, written from the RFC and independent of the
 * server's code: Hi() is the JDK's PBKDF2WithHmacSHA256, not the server's own loop. ASCII passwords only (SASLprep is
 * the identity for them). Messages are plain text; the caller base64-encodes them for SMTP.
 */
public final class ScramClient {
    private final String user;
    private final String password;
    private final String gs2Header;
    private final String clientNonce;
    private String authMessage;
    private byte[] saltedPassword;

    /** {@code gs2Header}: "n,," normally, "y,," or "n,a=user," to test the server. */
    public ScramClient(String user, String password, String gs2Header, String clientNonce) {
        this.user = user;
        this.password = password;
        this.gs2Header = gs2Header;
        this.clientNonce = clientNonce;
    }

    public ScramClient(String user, String password) {
        this(user, password, "n,,", randomNonce());
    }

    public static String randomNonce() {
        byte[] b = new byte[18];
        new java.security.SecureRandom().nextBytes(b);
        return Base64.getEncoder().encodeToString(b);
    }

    public String clientFirstBare() {
        return "n=" + user.replace("=", "=3D").replace(",", "=2C") + ",r=" + clientNonce;
    }

    public String clientFirst() { return gs2Header + clientFirstBare(); }

    /** The client-final-message for the server's {@code serverFirst}; checks the server's nonce and parameters. */
    public String clientFinal(String serverFirst) {
        String[] a = serverFirst.split(",");
        if (a.length < 3 || !a[0].startsWith("r=" + clientNonce) || a[0].length() <= 2 + clientNonce.length()
                || !a[1].startsWith("s=") || !a[2].startsWith("i=")) {
            throw new IllegalArgumentException("bad server-first-message: " + serverFirst);
        }
        byte[] salt = Base64.getDecoder().decode(a[1].substring(2));
        int iterations = Integer.parseInt(a[2].substring(2));
        String withoutProof = "c=" + Base64.getEncoder().encodeToString(gs2Header.getBytes(StandardCharsets.UTF_8))
                + "," + a[0];
        authMessage = clientFirstBare() + "," + serverFirst + "," + withoutProof;
        saltedPassword = pbkdf2(password, salt, iterations);
        byte[] clientKey = hmac(saltedPassword, "Client Key");
        byte[] storedKey = sha256(clientKey);
        byte[] signature = hmac(storedKey, authMessage);
        byte[] proof = new byte[clientKey.length];
        for (int i = 0; i < proof.length; i++) proof[i] = (byte) (clientKey[i] ^ signature[i]);
        return withoutProof + ",p=" + Base64.getEncoder().encodeToString(proof);
    }

    /** The server-final-message a server that knows the password sends: {@code v=ServerSignature}. */
    public String expectedServerFinal() {
        byte[] serverKey = hmac(saltedPassword, "Server Key");
        return "v=" + Base64.getEncoder().encodeToString(hmac(serverKey, authMessage));
    }

    public static String b64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    public static String unb64(String s) {
        return new String(Base64.getDecoder().decode(s), StandardCharsets.UTF_8);
    }

    private static byte[] pbkdf2(String password, byte[] salt, int iterations) {
        try {
            return SecretKeyFactory.getInstance("PBKDF2WithHmacSHA256")
                    .generateSecret(new PBEKeySpec(password.toCharArray(), salt, iterations, 256)).getEncoded();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private static byte[] hmac(byte[] key, String message) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return mac.doFinal(message.getBytes(StandardCharsets.UTF_8));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private static byte[] sha256(byte[] b) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(b);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }
}
