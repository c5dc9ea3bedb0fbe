/**
 * What a person or a program reads of one message's audit records ({@link dev.postern.audit.MessageTrace}): the
 * plain-language trace of {@code postern trace} ({@link dev.postern.trace.TraceText}) and the JSON form of records
 * ({@link dev.postern.trace.Json}, times as ISO-8601 strings). Reads records; writes nothing and asks no store.
 */
package dev.postern.trace;
