package dev.postern.cli;

import dev.postern.audit.MessageTrace;
import dev.postern.config.Config;
import dev.postern.files.DurableFiles;
import dev.postern.receipts.Receipt;
import dev.postern.receipts.ReceiptException;
import dev.postern.receipts.ReceiptKey;
import dev.postern.receipts.Receipts;
import dev.postern.tls.Pem;
import dev.postern.tls.TlsConfigException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.interfaces.ECPublicKey;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code postern receipt ...}: signed delivery receipts, made from the audit store and checked anywhere. */
@Command(name = "receipt", description = "A signed delivery receipt of a message (JWS, ES256): how each delivered "
        + "recipient's hop left this gateway, with its TLS facts.",
        subcommands = {ReceiptCommand.Key.class, ReceiptCommand.Verify.class})
final class ReceiptCommand implements Callable<Integer> {
    @Mixin ConfigSource source;
    // Optional for picocli, so that "receipt key" and "receipt verify" need none; call() asks for it.
    @Parameters(paramLabel = "ID", arity = "0..1", description = "the message's queue id") String id;
    @Option(names = "--out", paramLabel = "FILE", description = "write the receipt to FILE instead of printing it")
    Path out;

    @Override public Integer call() throws Exception {
        if (id == null) {
            throw new CliException("postern: receipt: expected a queue id (postern receipt ID), \"key\" or "
                    + "\"verify FILE\"", 2);
        }
        Config config = source.load();
        Optional<MessageTrace> trace = AuditAccess.ask(config, store -> store.message(id));
        String jws = signed(trace, id, key(config), Instant.now().truncatedTo(ChronoUnit.SECONDS));
        if (out == null) {
            System.out.print(jws);
        } else {
            try {
                DurableFiles.SYSTEM.write(out, jws.getBytes(StandardCharsets.US_ASCII), DurableFiles.PUBLIC_FILE);
            } catch (IOException e) {
                throw new CliException("postern: --out: cannot write " + out + " (" + Verify.oneLine(e) + ")", 1);
            }
            System.out.println("receipt of " + id + " written to " + out);
        }
        return 0;
    }

    /** The signed receipt of the message the store found for {@code id}, with a newline; or why there is none. */
    static String signed(Optional<MessageTrace> trace, String id, ReceiptKey key, Instant now) throws CliException {
        if (trace.isEmpty()) throw new CliException("postern: no message " + id + " on record", 1);
        Receipt receipt = Receipt.of(trace.get(), now)
                .orElseThrow(() -> new CliException("postern: no recipient of " + id + " was delivered (yet)", 1));
        return Receipts.sign(receipt, key) + "\n";
    }

    static ReceiptKey key(Config config) throws CliException {
        try {
            return ReceiptKey.loadOrCreate(config.dataDir());
        } catch (ReceiptException e) {
            throw new CliException("postern: " + e.getMessage(), 2);
        } catch (IOException e) {
            throw new CliException("postern: cannot make the receipt key in " + config.dataDir().resolve(ReceiptKey.FILE)
                    + ": " + e.getMessage(), 1);
        }
    }

    @Command(name = "key", description = "This gateway's receipt verification key (public; PEM and JWK), made on "
            + "first use, to give to whoever checks receipts.")
    static final class Key implements Callable<Integer> {
        @Mixin ConfigSource source;

        @Override public Integer call() throws CliException {
            ReceiptKey key = key(source.load());
            System.out.println("Receipt verification key (ES256, EC P-256), kid " + key.kid() + " (RFC 7638 thumbprint)");
            System.out.print(key.publicPem());
            System.out.println(key.jwk().toJSONString());
            return 0;
        }
    }

    @Command(name = "verify", description = "Check a receipt's signature and show what it states. Exit code 0: "
            + "valid; 1: the signature does not verify; 2: not a receipt or a bad key.")
    static final class Verify implements Callable<Integer> {
        @Mixin ConfigSource source;
        @Parameters(paramLabel = "FILE", description = "the receipt (as printed by postern receipt ID)") Path file;
        @Option(names = "--key", paramLabel = "PEM", description = "the signer's public key or certificate (PEM); "
                + "default: this gateway's own key in DATA/receipts") Path keyFile;

        @Override public Integer call() throws CliException {
            String text;
            try {
                text = Files.readString(file, StandardCharsets.US_ASCII);
            } catch (java.nio.charset.CharacterCodingException e) {
                throw new CliException("postern: " + file + ": not a receipt (it holds non-ASCII bytes)", 2);
            } catch (IOException e) {
                throw new CliException("postern: " + file + ": cannot read the receipt (" + oneLine(e) + ")", 2);
            }
            ECPublicKey key = keyFile != null ? givenKey(keyFile) : localKey(source.load());
            try {
                Receipts.Check check = Receipts.verify(text, key);
                if (check instanceof Receipts.Invalid invalid) {
                    throw new CliException("postern: " + file + ": invalid receipt: " + invalid.reason(), 1);
                }
                System.out.print(Receipts.describe((Receipts.Valid) check));
                return 0;
            } catch (ReceiptException e) {
                throw new CliException("postern: " + file + ": " + e.getMessage(), 2);
            }
        }

        private static ECPublicKey givenKey(Path keyFile) throws CliException {
            try {
                return ReceiptKey.p256(Pem.readPublicKey(keyFile), keyFile.toString());
            } catch (TlsConfigException | ReceiptException e) {
                throw new CliException("postern: --key: " + e.getMessage(), 2);
            }
        }

        private static ECPublicKey localKey(Config config) throws CliException {
            try {
                return ReceiptKey.existingPublicKey(config.dataDir());
            } catch (ReceiptException e) {
                throw new CliException("postern: " + e.getMessage(), 2);
            }
        }

        static String oneLine(Exception e) {
            return e instanceof java.nio.file.NoSuchFileException ? "no such file"
                    : String.valueOf(e.getMessage()).lines().findFirst().orElse("");
        }
    }
}
