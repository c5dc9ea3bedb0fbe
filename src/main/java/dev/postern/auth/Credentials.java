package dev.postern.auth;

import java.util.Arrays;
import java.util.Objects;

/**
 * What a SASL exchange yields: the authentication identity and the password as sent (UTF-8 bytes). The array is not
 * copied; {@link #close()} wipes it, so use it in try-with-resources. {@link #toString()} never shows the password.
 */
public record Credentials(String user, byte[] password) implements AutoCloseable {

    public Credentials {
        Objects.requireNonNull(user, "user");
        Objects.requireNonNull(password, "password");
    }

    /** Overwrites the password with zeros. */
    @Override public void close() { Arrays.fill(password, (byte) 0); }

    @Override public String toString() { return "Credentials[user=" + user + ", password=(hidden)]"; }

    /** By user and password content; records would compare the arrays by identity. */
    @Override public boolean equals(Object o) {
        return o instanceof Credentials c && c.user.equals(user) && Arrays.equals(c.password, password);
    }

    @Override public int hashCode() { return user.hashCode(); }
}
