/**
 * The admin server: one HTTP (or HTTPS) server on {@code [admin] listen}, Jetty 12 core handlers on virtual threads,
 * no servlet stack. It serves the JSON API under {@code /api/}, Prometheus metrics on {@code /metrics} and the
 * dashboard on {@code /}. Every route but the dashboard's static files needs the admin token
 * ({@code Authorization: Bearer TOKEN}, {@link AdminToken}), compared in constant time; a request without it gets 401
 * and a log line. Routes are {@link Endpoint}s registered by {@code cli/Gateway}, each with the parts it reads; they
 * see a {@link Call} and answer a {@link Reply}, so an endpoint knows nothing of Jetty. Figures come from the audit
 * store through {@link StoreAccess}, the same queries {@code postern report} asks. See docs/monitoring.md.
 */
package dev.postern.admin;
