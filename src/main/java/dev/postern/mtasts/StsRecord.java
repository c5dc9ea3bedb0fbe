package dev.postern.mtasts;

import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * A domain's {@code _mta-sts} TXT record (RFC 8461 §3.1): {@code v=STSv1; id=...;}. Only {@code id} matters; other
 * fields are extensions and ignored.
 *
 * @param id 1 to 32 letters and digits; changes whenever the policy does
 */
public record StsRecord(String id) {
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9]{1,32}");
    private static final Pattern EXT_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,31}");
    /** sts-ext-value: printable ASCII but '=' and ';'. */
    private static final Pattern EXT_VALUE = Pattern.compile("[\\x21-\\x3a\\x3c\\x3e-\\x7e]+");

    /**
     * The record among a name's TXT records: those not starting with {@code v=STSv1} are not MTA-STS records; zero
     * or more than one valid record, or an invalid one, means the domain has no MTA-STS (RFC 8461 §3.1: "If the
     * number of resulting records is not one, or if the resulting record is syntactically invalid, senders MUST
     * assume the recipient domain does not have an available MTA-STS Policy").
     */
    public static Optional<StsRecord> pick(List<String> txts) {
        List<String> candidates = txts.stream().filter(t -> t.startsWith("v=STSv1")).toList();
        if (candidates.size() != 1) return Optional.empty();
        return Optional.ofNullable(parse(candidates.getFirst()));
    }

    /**
     * The fields after the version of a {@code v=VERSION; name=value; ...} TXT record, in order, with every
     * extension (a name other than {@code known}) checked against the grammar: null when the text does not start
     * with {@code version}, a field is no {@code name=value}, {@code known} appears twice or an extension is invalid.
     * RFC 8461 §3.1's grammar; RFC 8460 §3's {@code _smtp._tls} record has the same ({@code tlsrpt.RuaRecord}).
     */
    public static java.util.Map<String, String> fields(String text, String version, String known) {
        // field-delim = *WSP ";" *WSP; a trailing delimiter is allowed
        String[] fields = text.split("[ \\t]*;[ \\t]*", -1);
        if (!fields[0].equals(version)) return null;
        java.util.Map<String, String> out = new java.util.LinkedHashMap<>();
        int last = fields.length - 1;
        for (int i = 1; i <= last; i++) {
            String f = fields[i];
            if (f.isEmpty() && i == last) break; // the optional trailing ";"
            int eq = f.indexOf('=');
            if (eq <= 0) return null;
            String name = f.substring(0, eq), value = f.substring(eq + 1);
            if (name.equals(known) ? out.containsKey(name)
                    : !EXT_NAME.matcher(name).matches() || !EXT_VALUE.matcher(value).matches()) {
                return null;
            }
            out.putIfAbsent(name, value);
        }
        return out;
    }

    /** One record's text, or null when it is not a valid STSv1 record. */
    static StsRecord parse(String text) {
        java.util.Map<String, String> f = fields(text, "v=STSv1", "id");
        String id = f == null ? null : f.get("id");
        return id == null || !ID.matcher(id).matches() ? null : new StsRecord(id);
    }
}
