package dev.postern.tlsrpt;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.time.Instant;
import java.util.List;

/**
 * An SMTP TLS report (RFC 8460 §4.4) as received, with the RFC's JSON names: what {@link ReportReader} makes of a
 * sender's JSON once it has checked it, and what is stored (re-serialized through {@code RecordCodec.mapper()}, so
 * the stored JSON is this normalized form, never the sender's bytes). Optional members are null and left out.
 *
 * @param organizationName {@code organization-name}: who made the report
 * @param dateRange        {@code date-range}
 * @param contactInfo      {@code contact-info}, optional
 * @param reportId         {@code report-id}
 * @param policies         {@code policies}: one result per policy applied (or {@code no-policy-found})
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonPropertyOrder({"organization-name", "date-range", "contact-info", "report-id", "policies"})
public record ReceivedReport(@JsonProperty("organization-name") String organizationName,
                             @JsonProperty("date-range") DateRange dateRange,
                             @JsonProperty("contact-info") String contactInfo,
                             @JsonProperty("report-id") String reportId,
                             @JsonProperty("policies") List<PolicyResult> policies) {
    public ReceivedReport {
        policies = List.copyOf(policies);
    }

    /** This report with only {@code kept} as its policies (a report split per policy domain). */
    public ReceivedReport withPolicies(List<PolicyResult> kept) {
        return new ReceivedReport(organizationName, dateRange, contactInfo, reportId, kept);
    }

    /** {@code date-range}: the report's window (RFC 3339 times, kept as instants). */
    @JsonPropertyOrder({"start-datetime", "end-datetime"})
    public record DateRange(@JsonProperty("start-datetime") Instant startDatetime,
                            @JsonProperty("end-datetime") Instant endDatetime) { }

    /** One entry of {@code policies}: the policy, its summary and its failures. */
    @JsonInclude(JsonInclude.Include.NON_EMPTY)
    @JsonPropertyOrder({"policy", "summary", "failure-details"})
    public record PolicyResult(@JsonProperty("policy") Policy policy,
                               @JsonProperty("summary") Summary summary,
                               @JsonProperty("failure-details") List<FailureDetail> failureDetails) {
        public PolicyResult {
            failureDetails = failureDetails == null ? List.of() : List.copyOf(failureDetails);
        }
    }

    /**
     * {@code policy}.
     *
     * @param policyType   {@code policy-type}: "tlsa", "sts" or "no-policy-found"
     * @param policyString {@code policy-string}: the policy's lines (TLSA records, or the MTA-STS policy), may be empty
     * @param policyDomain {@code policy-domain}, in lookup form (A-labels, lower case)
     * @param mxHost       {@code mx-host}: the MX patterns of an MTA-STS policy, may be empty
     */
    @JsonInclude(JsonInclude.Include.NON_EMPTY)
    @JsonPropertyOrder({"policy-type", "policy-string", "policy-domain", "mx-host"})
    public record Policy(@JsonProperty("policy-type") String policyType,
                         @JsonProperty("policy-string") List<String> policyString,
                         @JsonProperty("policy-domain") String policyDomain,
                         @JsonProperty("mx-host") List<String> mxHost) {
        public Policy {
            policyString = policyString == null ? List.of() : List.copyOf(policyString);
            mxHost = mxHost == null ? List.of() : List.copyOf(mxHost);
        }
    }

    /** {@code summary}: the sessions that succeeded and failed under the policy in the window. */
    @JsonPropertyOrder({"total-successful-session-count", "total-failure-session-count"})
    public record Summary(@JsonProperty("total-successful-session-count") long totalSuccessfulSessionCount,
                          @JsonProperty("total-failure-session-count") long totalFailureSessionCount) { }

    /**
     * One entry of {@code failure-details} (RFC 8460 §4.3 result types: {@code starttls-not-supported},
     * {@code certificate-expired}, {@code validation-failure}, {@code sts-policy-fetch-error}, ...).
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonPropertyOrder({"result-type", "sending-mta-ip", "receiving-mx-hostname", "receiving-mx-helo", "receiving-ip",
            "failed-session-count", "additional-information", "failure-reason-code"})
    public record FailureDetail(@JsonProperty("result-type") String resultType,
                                @JsonProperty("sending-mta-ip") String sendingMtaIp,
                                @JsonProperty("receiving-mx-hostname") String receivingMxHostname,
                                @JsonProperty("receiving-mx-helo") String receivingMxHelo,
                                @JsonProperty("receiving-ip") String receivingIp,
                                @JsonProperty("failed-session-count") long failedSessionCount,
                                @JsonProperty("additional-information") String additionalInformation,
                                @JsonProperty("failure-reason-code") String failureReasonCode) { }
}
