package dev.postern.admin;

/** One route of the admin server: answers a call. Runs on a virtual thread of its own; may block. */
@FunctionalInterface
public interface Endpoint {

    /**
     * @return the answer; an {@link IllegalArgumentException} becomes 400 with its message, any other exception 500
     *         with a generic message (the exception is logged, never shown)
     */
    Reply handle(Call call) throws Exception;
}
