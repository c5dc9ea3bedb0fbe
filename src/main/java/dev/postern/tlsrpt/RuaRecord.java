package dev.postern.tlsrpt;

import dev.postern.names.Domains;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * A policy domain's {@code _smtp._tls} TXT record (RFC 8460 §3): {@code v=TLSRPTv1; rua=mailto:a@b.example,https://...}.
 * Read like {@link dev.postern.mtasts.StsRecord}: records that do not start with the version are not TLSRPT records;
 * zero or more than one TLSRPT record, or an invalid one, means the domain asks for no reports. Of the {@code rua}
 * URIs, those Postern can send to are kept ({@code mailto:} with one address, {@code https:}); others are skipped.
 *
 * @param rua the report addresses in the record's order, each a {@link Target}; never empty
 */
public record RuaRecord(List<Target> rua) {
    public RuaRecord {
        rua = List.copyOf(rua);
    }

    /** The TXT owner name of {@code policyDomain}'s record (lookup form). */
    public static String name(String policyDomain) {
        return "_smtp._tls." + policyDomain;
    }

    /** Where a report goes: a mail address (lookup-form domain) or an https URL. */
    public sealed interface Target {
        /** The URI as the record wrote it ("mailto:tlsrpt@bank.example"), for logs and the audit. */
        String uri();
    }

    /** {@code mailto:}: the report as mail to {@code address} through Postern's queue (RFC 8460 §5.3). */
    public record Mailto(String uri, String address) implements Target { }

    /** {@code https:}: the report POSTed to {@code url} (RFC 8460 §5.4). */
    public record Https(String uri, URI url) implements Target { }

    /** The record among a name's TXT records, or empty when the domain asks for no reports (RFC 8460 §3). */
    public static Optional<RuaRecord> pick(List<String> txts) {
        List<String> candidates = txts.stream().filter(t -> t.startsWith("v=TLSRPTv1")).toList();
        if (candidates.size() != 1) return Optional.empty();
        return Optional.ofNullable(parse(candidates.getFirst()));
    }

    /** One record's text, or null when it is not a valid TLSRPTv1 record with a usable rua. */
    static RuaRecord parse(String text) {
        java.util.Map<String, String> fields = dev.postern.mtasts.StsRecord.fields(text, "v=TLSRPTv1", "rua");
        String rua = fields == null ? null : fields.get("rua");
        if (rua == null) return null;
        List<Target> targets = new ArrayList<>();
        // tlsrpt-rua = "rua=" tlsrpt-uri *(*WSP "," *WSP tlsrpt-uri); commas in a URI are percent-encoded
        for (String u : rua.split("[ \\t]*,[ \\t]*", -1)) {
            Target t = target(u);
            if (t != null) targets.add(t);
        }
        return targets.isEmpty() ? null : new RuaRecord(targets);
    }

    /** A target Postern can send to, or null (another scheme, a malformed URI, not exactly one address). */
    static Target target(String text) {
        URI uri;
        try {
            uri = new URI(text);
        } catch (URISyntaxException e) {
            return null;
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (scheme.equals("https")) {
            return uri.getHost() == null || uri.getRawUserInfo() != null ? null : new Https(text, uri);
        }
        if (!scheme.equals("mailto") || !uri.isOpaque()) return null;
        String part = uri.getSchemeSpecificPart(); // percent-decoded; a query (?subject=...) is dropped
        int q = part.indexOf('?');
        String address = q < 0 ? part : part.substring(0, q);
        int at = address.lastIndexOf('@');
        if (at <= 0 || at == address.length() - 1 || address.contains(",") || address.indexOf('@') != at
                || !address.chars().allMatch(c -> c > 0x20 && c < 0x7f && c != '<' && c != '>')) {
            return null;
        }
        String domain = Domains.toHostNameOrNull(address.substring(at + 1));
        return domain == null ? null : new Mailto(text, address.substring(0, at) + "@" + domain);
    }
}
