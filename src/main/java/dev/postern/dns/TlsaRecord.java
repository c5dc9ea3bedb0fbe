package dev.postern.dns;

import java.util.Arrays;
import java.util.HexFormat;

/**
 * One TLSA record (RFC 6698 §2.1): certificate usage, selector, matching type and the association data. Values
 * outside those RFC 7671/7672 define are kept as they are: whether a record is usable is for DANE to decide.
 */
public record TlsaRecord(int usage, int selector, int matchingType, byte[] data) {
    public TlsaRecord {
        data = data.clone();
    }

    @Override public byte[] data() { return data.clone(); }

    @Override public boolean equals(Object o) {
        return o instanceof TlsaRecord t && t.usage == usage && t.selector == selector
                && t.matchingType == matchingType && Arrays.equals(t.data, data);
    }

    @Override public int hashCode() {
        return (usage * 31 + selector) * 31 + matchingType + 961 * Arrays.hashCode(data);
    }

    /** Presentation form, as in a zone file: "3 1 1 ab12...". */
    @Override public String toString() {
        return usage + " " + selector + " " + matchingType + " " + HexFormat.of().formatHex(data);
    }
}
