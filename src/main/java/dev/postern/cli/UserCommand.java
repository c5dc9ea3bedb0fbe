package dev.postern.cli;

import dev.postern.auth.PasswordFile;
import dev.postern.auth.PasswordHash;
import dev.postern.auth.Scram;
import java.io.ByteArrayOutputStream;
import java.io.Console;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code postern user add|remove|list}: the users of SMTP AUTH, in {@code data/users}. A running gateway sees changes
 * at the next AUTH. Passwords are read without echo and never printed.
 */
@Command(name = "user", description = "Users who may authenticate (SMTP AUTH): add, remove, list.",
        subcommands = {UserCommand.Add.class, UserCommand.Remove.class, UserCommand.ListUsers.class})
final class UserCommand {

    @Command(name = "add", description = "Add a user, or set a new password for one. The password is asked for on the "
            + "terminal, or read as one line from standard input with --password-stdin. Stores a bcrypt (or Argon2id) "
            + "hash for PLAIN and LOGIN and SCRAM-SHA-256 secrets (RFC 5803) for SCRAM.")
    static final class Add implements Callable<Integer> {
        @Mixin ConfigSource source;
        @Parameters(paramLabel = "NAME", description = "1-64 characters A-Z a-z 0-9 . _ @ + -") String name;
        @Option(names = "--password-stdin", description = "Read the password from standard input (first line).")
        boolean stdin;
        @Option(names = "--cost", paramLabel = "N", description = "bcrypt cost, 4-31 (default: 12).")
        int cost = PasswordHash.DEFAULT_BCRYPT_COST;
        @Option(names = "--argon2id", description = "Hash with Argon2id (m=19456 KiB, t=2, p=1) instead of bcrypt.")
        boolean argon2id;
        @Option(names = "--scram-iterations", paramLabel = "N",
                description = "PBKDF2 iterations of the SCRAM-SHA-256 secrets, " + Scram.DEFAULT_ITERATIONS + "-"
                        + Scram.MAX_ITERATIONS + " (default: " + Scram.DEFAULT_ITERATIONS + ").")
        int scramIterations = Scram.DEFAULT_ITERATIONS;
        @Option(names = "--no-scram", description = "Store no SCRAM-SHA-256 secrets: the user can use PLAIN and LOGIN "
                + "only.")
        boolean noScram;

        @Override public Integer call() throws Exception {
            checkName(name);
            if (cost < 4 || cost > 31) throw new CliException("postern: --cost: expected 4 to 31, got " + cost, 2);
            if (scramIterations < Scram.DEFAULT_ITERATIONS || scramIterations > Scram.MAX_ITERATIONS) {
                throw new CliException("postern: --scram-iterations: expected " + Scram.DEFAULT_ITERATIONS + " to "
                        + Scram.MAX_ITERATIONS + ", got " + scramIterations, 2);
            }
            Path file = file(source);
            load(file); // a broken file is reported before the password is asked for
            char[] password = stdin ? fromStdin() : fromTerminal(name);
            String hash;
            Scram.Secrets scram = null;
            String noScramReason = null;
            try {
                hash = argon2id ? PasswordHash.argon2id(password, 19_456, 2, 1) : PasswordHash.bcrypt(password, cost);
                if (!noScram) {
                    try {
                        scram = Scram.secrets(password, scramIterations);
                    } catch (IllegalArgumentException e) {
                        noScramReason = e.getMessage();
                    }
                }
            } catch (IllegalArgumentException e) {
                throw new CliException("postern: " + e.getMessage(), 2);
            } finally {
                Arrays.fill(password, '\0');
            }
            PasswordFile users = load(file); // again: typing a password takes a while, others may have changed it
            boolean existed = users.contains(name);
            users.withHash(name, hash, scram).save(file);
            System.out.println((existed ? "password of " + name + " changed in " : "user " + name + " added to ")
                    + file);
            if (noScramReason != null) {
                System.err.println("postern: warning: no SCRAM-SHA-256 for " + name + " (" + noScramReason
                        + "); PLAIN and LOGIN only");
            }
            return 0;
        }
    }

    @Command(name = "remove", description = "Remove a user.")
    static final class Remove implements Callable<Integer> {
        @Mixin ConfigSource source;
        @Parameters(paramLabel = "NAME") String name;

        @Override public Integer call() throws Exception {
            checkName(name);
            Path file = file(source);
            PasswordFile users = load(file);
            if (!users.contains(name)) throw new CliException("postern: no user " + name + " in " + file, 1);
            users.without(name).save(file);
            System.out.println("user " + name + " removed from " + file);
            return 0;
        }
    }

    @Command(name = "list", description = "List the users, one per line.")
    static final class ListUsers implements Callable<Integer> {
        @Mixin ConfigSource source;

        @Override public Integer call() throws CliException {
            List<String> users = load(file(source)).users();
            if (users.isEmpty()) System.out.println("No users.");
            users.forEach(System.out::println);
            return 0;
        }
    }

    private static Path file(ConfigSource source) throws CliException {
        return PasswordFile.defaultPath(source.load().dataDir());
    }

    private static PasswordFile load(Path file) throws CliException {
        try {
            return PasswordFile.load(file);
        } catch (IOException e) {
            throw new CliException("postern: " + e.getMessage(), 1);
        }
    }

    private static void checkName(String name) throws CliException {
        if (!PasswordFile.isValidName(name)) {
            throw new CliException("postern: expected a user name of 1-64 characters A-Z a-z 0-9 . _ @ + -, got \""
                    + name + "\"", 2);
        }
    }

    private static char[] fromTerminal(String name) throws CliException {
        Console console = System.console();
        if (console == null || !console.isTerminal()) {
            throw new CliException("postern: no terminal to ask for the password; use --password-stdin", 2);
        }
        char[] first = console.readPassword("Password for %s: ", name);
        char[] second = console.readPassword("Again: ");
        if (first == null || second == null) throw new CliException("postern: no password given", 2);
        try {
            if (!Arrays.equals(first, second)) throw new CliException("postern: the passwords differ", 2);
            return first.clone();
        } finally {
            Arrays.fill(first, '\0');
            Arrays.fill(second, '\0');
        }
    }

    /** The first line of standard input, UTF-8, without its line ending. */
    private static char[] fromStdin() throws IOException, CliException {
        InputStream in = System.in;
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        for (int b = in.read(); b >= 0 && b != '\n'; b = in.read()) {
            if (line.size() > 4096) throw new CliException("postern: password line too long", 2);
            line.write(b);
        }
        byte[] bytes = line.toByteArray();
        int end = bytes.length > 0 && bytes[bytes.length - 1] == '\r' ? bytes.length - 1 : bytes.length;
        try {
            CharBuffer chars = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes, 0, end));
            char[] password = Arrays.copyOfRange(chars.array(), chars.position(), chars.limit());
            Arrays.fill(chars.array(), '\0');
            return password;
        } catch (CharacterCodingException e) {
            throw new CliException("postern: the password is not UTF-8 text", 2);
        } finally {
            Arrays.fill(bytes, (byte) 0);
            // ByteArrayOutputStream's own buffer cannot be wiped from outside; it goes with the process.
        }
    }
}
