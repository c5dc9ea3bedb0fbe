package dev.postern.tlsrpt;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.postern.names.Domains;
import dev.postern.tlsrpt.Report.DateRange;
import dev.postern.tlsrpt.Report.FailureDetail;
import dev.postern.tlsrpt.Report.Policy;
import dev.postern.tlsrpt.Report.PolicyResult;
import dev.postern.tlsrpt.Report.Summary;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Reads a report's JSON into a {@link Report}, strictly: the parser itself bounds nesting, numbers, strings,
 * names, tokens and the document (Jackson's {@link StreamReadConstraints}), duplicate member names are an error, and
 * every member the RFC defines is checked for its type and range, so what is stored is only what was understood.
 * Members the RFC does not define are dropped, and empty lists are given as absent (null), so the stored form leaves
 * them out. Malformed JSON is 400; JSON that is not an acceptable report is 422
 * with the member's path in the reason.
 */
public final class ReportReader {
    /** A report is six levels deep; a little room for extensions, none for a stack-exhausting tower. */
    static final int MAX_DEPTH = 12;
    static final int MAX_POLICIES = 1_000;
    static final int MAX_FAILURE_DETAILS = 10_000;
    static final int MAX_POLICY_STRINGS = 1_000;
    /** {@code report-id} and {@code organization-name}: printable, at most this many characters. */
    static final int MAX_ID = 256;
    static final int MAX_TEXT = 1_024;
    /** A window ending later than this after now is refused (clocks differ; a day ahead is not a clock error). */
    static final Duration FUTURE_SLACK = Duration.ofDays(1);
    /** No sender reports on more than this (RFC 8460 reports are daily). */
    static final Duration MAX_WINDOW = Duration.ofDays(31);
    static final Set<String> POLICY_TYPES = Set.of("tlsa", "sts", "no-policy-found");

    private final ObjectMapper mapper;

    /** @param maxDocument the largest JSON document, bytes ({@code [tls_rpt] max_report_size}) */
    public ReportReader(long maxDocument) {
        JsonFactory factory = JsonFactory.builder()
                .streamReadConstraints(StreamReadConstraints.builder()
                        .maxNestingDepth(MAX_DEPTH)
                        .maxNumberLength(20)
                        .maxStringLength(64 * 1024)
                        .maxNameLength(256)
                        .maxTokenCount(2_000_000)
                        .maxDocumentLength(maxDocument)
                        .build())
                .enable(com.fasterxml.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION)
                .build();
        this.mapper = JsonMapper.builder(factory).build();
    }

    /** The report in {@code json} (UTF-8), checked as of {@code now}. */
    public Report read(byte[] json, Instant now) throws ReportException {
        JsonNode root;
        try (JsonParser p = mapper.createParser(json)) {
            root = mapper.readTree(p);
            if (p.nextToken() != null) throw ReportException.malformed("not JSON: more after the report's object");
        } catch (StreamConstraintsException e) {
            throw ReportException.malformed("JSON beyond limits: " + firstLine(e.getOriginalMessage()));
        } catch (IOException e) {
            throw ReportException.malformed("not JSON: " + firstLine(e.getMessage()));
        }
        if (root == null || !root.isObject()) throw ReportException.invalid("a report is a JSON object");
        return report(root, now);
    }

    private static Report report(JsonNode root, Instant now) throws ReportException {
        String org = id(root, "organization-name");
        String reportId = id(root, "report-id");
        String contact = optionalText(root, "contact-info", "");
        JsonNode range = object(root, "date-range", "");
        Instant start = time(range, "start-datetime", "date-range.");
        Instant end = time(range, "end-datetime", "date-range.");
        if (!start.isBefore(end)) {
            throw ReportException.invalid("date-range: start-datetime must be before end-datetime");
        }
        if (end.isAfter(now.plus(FUTURE_SLACK))) throw ReportException.invalid("date-range ends in the future");
        if (Duration.between(start, end).compareTo(MAX_WINDOW) > 0) {
            throw ReportException.invalid("date-range longer than " + MAX_WINDOW.toDays() + " days");
        }
        JsonNode policies = array(root, "policies", "", MAX_POLICIES);
        if (policies.isEmpty()) throw ReportException.invalid("policies: empty");
        List<PolicyResult> results = new ArrayList<>();
        for (int i = 0; i < policies.size(); i++) results.add(policyResult(policies.get(i), "policies[" + i + "]."));
        return new Report(org, new DateRange(start, end), contact, reportId, results);
    }

    private static PolicyResult policyResult(JsonNode n, String at) throws ReportException {
        if (!n.isObject()) throw ReportException.invalid(at.substring(0, at.length() - 1) + ": must be an object");
        JsonNode p = object(n, "policy", at);
        String pat = at + "policy.";
        String type = text(p, "policy-type", pat, 32);
        if (!POLICY_TYPES.contains(type)) {
            throw ReportException.invalid(pat + "policy-type: must be tlsa, sts or no-policy-found");
        }
        String domainText = text(p, "policy-domain", pat, 300);
        String domain = Domains.toAsciiOrNull(domainText);
        if (domain == null) throw ReportException.invalid(pat + "policy-domain: not a domain name");
        List<String> strings = strings(p, "policy-string", pat, MAX_POLICY_STRINGS);
        List<String> mx = strings(p, "mx-host", pat, MAX_POLICY_STRINGS);
        JsonNode s = object(n, "summary", at);
        Summary summary = new Summary(count(s, "total-successful-session-count", at + "summary."),
                count(s, "total-failure-session-count", at + "summary."));
        List<FailureDetail> details = new ArrayList<>();
        JsonNode fd = n.get("failure-details");
        if (fd != null && !fd.isNull()) {
            JsonNode list = array(n, "failure-details", at, MAX_FAILURE_DETAILS);
            for (int i = 0; i < list.size(); i++) details.add(failure(list.get(i), at + "failure-details[" + i + "]."));
        }
        return new PolicyResult(new Policy(type, orNull(strings), domain, orNull(mx)), summary, orNull(details));
    }

    private static FailureDetail failure(JsonNode n, String at) throws ReportException {
        if (!n.isObject()) throw ReportException.invalid(at.substring(0, at.length() - 1) + ": must be an object");
        String type = text(n, "result-type", at, 64);
        if (!type.chars().allMatch(c -> c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-')) {
            throw ReportException.invalid(at + "result-type: letters, digits and '-' only");
        }
        return new FailureDetail(type, ip(n, "sending-mta-ip", at), host(n, "receiving-mx-hostname", at),
                optionalText(n, "receiving-mx-helo", at), ip(n, "receiving-ip", at),
                count(n, "failed-session-count", at), optionalText(n, "additional-information", at),
                optionalText(n, "failure-reason-code", at));
    }

    // ---- members

    private static JsonNode member(JsonNode n, String name, String at) throws ReportException {
        JsonNode v = n.get(name);
        if (v == null || v.isNull()) throw ReportException.invalid(at + name + ": missing");
        return v;
    }

    private static JsonNode object(JsonNode n, String name, String at) throws ReportException {
        JsonNode v = member(n, name, at);
        if (!v.isObject()) throw ReportException.invalid(at + name + ": must be an object");
        return v;
    }

    private static JsonNode array(JsonNode n, String name, String at, int max) throws ReportException {
        JsonNode v = member(n, name, at);
        if (!v.isArray()) throw ReportException.invalid(at + name + ": must be an array");
        if (v.size() > max) throw ReportException.invalid(at + name + ": more than " + max + " entries");
        return v;
    }

    /** A required, printable string of at most {@code max} characters. */
    private static String text(JsonNode n, String name, String at, int max) throws ReportException {
        JsonNode v = member(n, name, at);
        if (!v.isTextual()) throw ReportException.invalid(at + name + ": must be a string");
        return printable(v.textValue(), at + name, max);
    }

    private static String optionalText(JsonNode n, String name, String at) throws ReportException {
        JsonNode v = n.get(name);
        if (v == null || v.isNull()) return null;
        if (!v.isTextual()) throw ReportException.invalid(at + name + ": must be a string");
        return printable(v.textValue(), at + name, MAX_TEXT);
    }

    /** {@code organization-name}, {@code report-id}: what lists and keys show, so short and printable. */
    private static String id(JsonNode n, String name) throws ReportException {
        return text(n, name, "", MAX_ID);
    }

    private static String printable(String s, String what, int max) throws ReportException {
        String t = s.strip();
        if (t.isEmpty()) throw ReportException.invalid(what + ": empty");
        if (t.length() > max) throw ReportException.invalid(what + ": longer than " + max + " characters");
        for (int i = 0; i < t.length(); ) {
            int c = t.codePointAt(i);
            int type = Character.getType(c);
            if (type == Character.CONTROL || type == Character.FORMAT || type == Character.UNASSIGNED
                    || type == Character.SURROGATE || type == Character.PRIVATE_USE
                    || type == Character.LINE_SEPARATOR || type == Character.PARAGRAPH_SEPARATOR) {
                throw ReportException.invalid(what + ": holds a control or unprintable character");
            }
            i += Character.charCount(c);
        }
        return t;
    }

    private static List<String> strings(JsonNode n, String name, String at, int max) throws ReportException {
        JsonNode v = n.get(name);
        if (v == null || v.isNull()) return List.of();
        if (v.isTextual()) return List.of(printable(v.textValue(), at + name, MAX_TEXT)); // mx-host as one string
        if (!v.isArray()) throw ReportException.invalid(at + name + ": must be an array of strings");
        if (v.size() > max) throw ReportException.invalid(at + name + ": more than " + max + " entries");
        List<String> out = new ArrayList<>();
        for (int i = 0; i < v.size(); i++) {
            JsonNode e = v.get(i);
            if (!e.isTextual()) throw ReportException.invalid(at + name + "[" + i + "]: must be a string");
            out.add(printable(e.textValue(), at + name + "[" + i + "]", MAX_TEXT));
        }
        return out;
    }

    private static <T> List<T> orNull(List<T> list) {
        return list.isEmpty() ? null : list;
    }

    /** A non-negative whole number that fits a long (no fraction, no exponent, no string). */
    private static long count(JsonNode n, String name, String at) throws ReportException {
        JsonNode v = member(n, name, at);
        if (!v.isIntegralNumber() || !v.canConvertToLong()) {
            throw ReportException.invalid(at + name + ": must be a whole number");
        }
        long c = v.longValue();
        if (c < 0) throw ReportException.invalid(at + name + ": must not be negative");
        return c;
    }

    private static Instant time(JsonNode n, String name, String at) throws ReportException {
        String s = text(n, name, at, 64);
        try {
            return OffsetDateTime.parse(s).toInstant();
        } catch (DateTimeParseException e) {
            throw ReportException.invalid(at + name + ": not an RFC 3339 date-time like 2026-12-01T00:00:00Z");
        }
    }

    /** An optional IP address literal (never looked up), normalized. */
    private static String ip(JsonNode n, String name, String at) throws ReportException {
        String s = optionalText(n, name, at);
        if (s == null) return null;
        if (s.length() > 64 || !s.chars().allMatch(c -> Character.digit(c, 16) >= 0 || c == '.' || c == ':')) {
            throw ReportException.invalid(at + name + ": not an IP address");
        }
        try {
            return java.net.InetAddress.ofLiteral(s).getHostAddress();
        } catch (IllegalArgumentException e) {
            throw ReportException.invalid(at + name + ": not an IP address");
        }
    }

    /** An optional host name, in lookup form; a name that is not one is refused. */
    private static String host(JsonNode n, String name, String at) throws ReportException {
        String s = optionalText(n, name, at);
        if (s == null) return null;
        String h = Domains.toAsciiOrNull(s);
        if (h == null) throw ReportException.invalid(at + name + ": not a host name");
        return h;
    }

    private static String firstLine(String s) {
        if (s == null) return "unreadable";
        int nl = s.indexOf('\n');
        String line = nl < 0 ? s : s.substring(0, nl);
        return ReportBytes.printable(line.length() > 200 ? line.substring(0, 200) : line);
    }
}
