package dev.postern.cli;

import dev.postern.audit.AuditStore.AuditStoreException;
import dev.postern.audit.JdbcAuditStore;
import dev.postern.config.Config;
import dev.postern.files.DurableFiles;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Opens the audit store a configuration names ([audit]): the gateway's writer and the CLI's readers alike. */
public final class AuditDatabase {
    private AuditDatabase() { }

    /** Where the embedded store lives inside the data directory. */
    static Path sqliteFile(Config config) {
        return config.dataDir().resolve("audit").resolve("audit.db");
    }

    /**
     * The store of {@code config}: [audit] url, or SQLite at data/audit/audit.db (the directory made 0700 and the file
     * 0600 before SQLite opens it, so records are never readable by others, whatever the umask). Records carry
     * [audit] gateway_name, or the gateway's hostname.
     *
     * @throws AuditStoreException one line: the password file cannot be read, the store cannot be reached or migrated
     */
    public static JdbcAuditStore open(Config config) throws AuditStoreException {
        Config.Audit audit = config.audit();
        String url = audit.url();
        if (url == null) {
            Path file = sqliteFile(config);
            try {
                DurableFiles.SYSTEM.createDirectories(file.getParent());
                if (!Files.exists(file)) {
                    try (FileChannel ch = DurableFiles.SYSTEM.createNew(file)) {
                        DurableFiles.SYSTEM.sync(ch, file);
                    } catch (FileAlreadyExistsException e) {
                        // made meanwhile by the gateway or another command
                    }
                    DurableFiles.SYSTEM.syncDirectory(file.getParent());
                }
            } catch (IOException e) {
                throw new AuditStoreException("audit store " + file + ": cannot create it: " + e.getMessage(), e);
            }
            url = "jdbc:sqlite:" + file;
        }
        String password = null;
        if (audit.passwordFile() != null) {
            try {
                password = Files.readString(audit.passwordFile(), StandardCharsets.UTF_8).lines().findFirst()
                        .orElse("");
            } catch (IOException e) {
                throw new AuditStoreException("audit store: cannot read the password file " + audit.passwordFile()
                        + " ([audit] password_file): " + e.getMessage(), e);
            }
        }
        String gateway = audit.gatewayName() != null ? audit.gatewayName() : config.hostname();
        return JdbcAuditStore.open(url, audit.user(), password, gateway);
    }
}
