package dev.postern.queue;

/** Where a message's envelope lives; each is a directory, and a change of state is an atomic rename. */
public enum QueueState { ACTIVE, DEFERRED, HOLD }
