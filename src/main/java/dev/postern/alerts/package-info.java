/**
 * Alerts: decides when something is wrong or has recovered, and tells people. Each condition has a stable key; it
 * fires once when it starts and recovers once when it ends, whatever happens in between. The inputs are the audit
 * records as they are made (an observer on {@code audit.Fanout}, which only queues them) and a check once a minute
 * (the queue, certificates); one virtual thread evaluates both. What fires is kept in {@code data/alerts/state.json}
 * so a restart neither fires again nor forgets. Every state change is an {@code AlertRecord} in the audit store and a
 * log line; the channels (a webhook, mail through the gateway's own queue) are optional. See docs/monitoring.md.
 */
package dev.postern.alerts;
