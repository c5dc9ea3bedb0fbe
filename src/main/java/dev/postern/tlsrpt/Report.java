package dev.postern.tlsrpt;

import com.fasterxml.jackson.annotation.JsonFormat;
import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.time.Instant;
import java.util.List;

/**
 * An SMTP TLS aggregate report, RFC 8460 §4.4, field for field with the RFC's JSON names: the one model of both
 * sides, what Postern sends ({@link Aggregate} makes it) and what it receives ({@link ReportReader} makes it from a
 * sender's JSON once it has checked it, and it is stored re-serialized, never as the sender's bytes). So: an optional
 * member is null when absent and then left out (never written as {@code null}), a list given is written even when
 * empty (ours send {@code "failure-details":[]}; the reader gives null for an empty one, so a stored report leaves it
 * out), unknown fields are ignored, {@code mx-host} may be one string, and the two open vocabularies
 * ({@code policy-type}, {@code result-type}) are strings, with the RFC's values as constants ({@link PolicyType},
 * {@link ResultType}): a receiver must accept a result type it does not know (§4.3: "new result types may be added").
 * Validation is the reader's, not the model's. Written and read through {@code RecordCodec.mapper()} (instants as
 * RFC 3339 strings, "2026-12-02T00:00:00Z").
 *
 * @param organizationName the report's maker
 * @param dateRange        the period the report covers
 * @param contactInfo      how to reach the maker (an address or URI); optional
 * @param reportId         the maker's unique id for this report
 * @param policies         one entry per policy applied to the policy domain during the period
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
@JsonPropertyOrder({"organization-name", "date-range", "contact-info", "report-id", "policies"})
public record Report(@JsonProperty("organization-name") String organizationName,
                     @JsonProperty("date-range") DateRange dateRange,
                     @JsonProperty("contact-info") String contactInfo,
                     @JsonProperty("report-id") String reportId,
                     @JsonProperty("policies") List<PolicyResult> policies) {

    public Report {
        policies = policies == null ? List.of() : List.copyOf(policies);
    }

    /** This report with only {@code kept} as its policies (a received report split per policy domain). */
    public Report withPolicies(List<PolicyResult> kept) {
        return new Report(organizationName, dateRange, contactInfo, reportId, kept);
    }

    /** The report's period: RFC 3339 date-times; Postern's are one UTC day, 00:00:00Z to 23:59:59Z. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    @JsonPropertyOrder({"start-datetime", "end-datetime"})
    public record DateRange(@JsonProperty("start-datetime") Instant start,
                            @JsonProperty("end-datetime") Instant end) { }

    /**
     * One policy with its sessions: {@code policy}, {@code summary} and {@code failure-details} (null when absent:
     * a received report without failures; ours always give a list, empty when none failed).
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonIgnoreProperties(ignoreUnknown = true)
    @JsonPropertyOrder({"policy", "summary", "failure-details"})
    public record PolicyResult(@JsonProperty("policy") Policy policy,
                               @JsonProperty("summary") Summary summary,
                               @JsonProperty("failure-details") List<FailureDetail> failureDetails) {
        public PolicyResult {
            failureDetails = failureDetails == null ? null : List.copyOf(failureDetails);
        }
    }

    /**
     * The policy as the sender saw it.
     *
     * @param policyType   "sts", "tlsa" or "no-policy-found" ({@link PolicyType})
     * @param policyString sts: the policy's lines; tlsa: the TLSA records in presentation form; absent for
     *                     no-policy-found
     * @param policyDomain the policy domain (the recipient domain)
     * @param mxHost       sts: the policy's {@code mx} patterns; tlsa: the MX host names; optional (read from one
     *                     string too, as some senders write it)
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonIgnoreProperties(ignoreUnknown = true)
    @JsonPropertyOrder({"policy-type", "policy-string", "policy-domain", "mx-host"})
    public record Policy(@JsonProperty("policy-type") String policyType,
                         @JsonProperty("policy-string") List<String> policyString,
                         @JsonProperty("policy-domain") String policyDomain,
                         @JsonProperty("mx-host")
                         @JsonFormat(with = JsonFormat.Feature.ACCEPT_SINGLE_VALUE_AS_ARRAY) List<String> mxHost) {
        public Policy {
            policyString = policyString == null ? null : List.copyOf(policyString);
            mxHost = mxHost == null ? null : List.copyOf(mxHost);
        }
    }

    /** Sessions under the policy: those that met it and those that did not. */
    @JsonPropertyOrder({"total-successful-session-count", "total-failure-session-count"})
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Summary(@JsonProperty("total-successful-session-count") long successful,
                          @JsonProperty("total-failure-session-count") long failed) { }

    /**
     * Failed sessions that share a result type, sending and receiving address and MX host.
     *
     * @param resultType            §4.3's result type ({@link ResultType})
     * @param sendingMtaIp          the address the sender connected from
     * @param receivingMxHostname   the MX host name connected to
     * @param receivingMxHelo       the name the MX gave in its greeting/EHLO; optional
     * @param receivingIp           the MX address connected to
     * @param failedSessionCount    how many sessions failed so
     * @param additionalInformation a URI with more; optional
     * @param failureReasonCode     free text (the sender's own words for the failure); optional
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonIgnoreProperties(ignoreUnknown = true)
    @JsonPropertyOrder({"result-type", "sending-mta-ip", "receiving-mx-hostname", "receiving-mx-helo",
            "receiving-ip", "failed-session-count", "additional-information", "failure-reason-code"})
    public record FailureDetail(@JsonProperty("result-type") String resultType,
                                @JsonProperty("sending-mta-ip") String sendingMtaIp,
                                @JsonProperty("receiving-mx-hostname") String receivingMxHostname,
                                @JsonProperty("receiving-mx-helo") String receivingMxHelo,
                                @JsonProperty("receiving-ip") String receivingIp,
                                @JsonProperty("failed-session-count") long failedSessionCount,
                                @JsonProperty("additional-information") String additionalInformation,
                                @JsonProperty("failure-reason-code") String failureReasonCode) { }

    /** RFC 8460 §4.4's {@code policy-type} values. */
    public static final class PolicyType {
        public static final String STS = "sts";
        public static final String TLSA = "tlsa";
        public static final String NO_POLICY_FOUND = "no-policy-found";

        private PolicyType() {}
    }

    /** RFC 8460 §4.3's result types: negotiation (4.3.1), DANE (4.3.2), MTA-STS (4.3.3). */
    public static final class ResultType {
        public static final String STARTTLS_NOT_SUPPORTED = "starttls-not-supported";
        public static final String CERTIFICATE_HOST_MISMATCH = "certificate-host-mismatch";
        public static final String CERTIFICATE_EXPIRED = "certificate-expired";
        public static final String CERTIFICATE_NOT_TRUSTED = "certificate-not-trusted";
        public static final String VALIDATION_FAILURE = "validation-failure";
        public static final String TLSA_INVALID = "tlsa-invalid";
        public static final String DNSSEC_INVALID = "dnssec-invalid";
        public static final String DANE_REQUIRED = "dane-required";
        public static final String STS_POLICY_FETCH_ERROR = "sts-policy-fetch-error";
        public static final String STS_POLICY_INVALID = "sts-policy-invalid";
        public static final String STS_WEBPKI_INVALID = "sts-webpki-invalid";

        private ResultType() {}
    }
}
