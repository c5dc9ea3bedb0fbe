package dev.postern.config;

import java.util.List;

/** A config that cannot be used; {@link #problems()} holds one complete line per problem. */
public final class ConfigException extends Exception {
    private final List<String> problems;

    public ConfigException(List<String> problems) {
        super(String.join("\n", problems));
        this.problems = List.copyOf(problems);
    }

    public List<String> problems() { return problems; }
}
