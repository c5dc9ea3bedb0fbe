package dev.postern.peers;

/** Which side of Postern the domain was on: delivered to (out) or sending to us (in, by MAIL FROM domain). */
public enum Direction {
    IN, OUT;

    public String word() { return name().toLowerCase(java.util.Locale.ROOT); }
}
