package dev.postern.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.core.read.ListAppender;
import dev.postern.testkit.AuditSamples;
import dev.postern.testkit.TestPostgres;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** The PostgreSQL password, given as a property or in the URL, is in no log line and no error message. */
class StoreSecretsTest {
    private static final String PROP = "Pr0pS3cret-xyz";
    private static final String QUERY = "QueryS3cret-xyz";

    @Test void thePasswordIsNeverLoggedNorInAnError() throws Exception {
        ListAppender<ILoggingEvent> logged = new ListAppender<>();
        logged.start();
        Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        Level before = root.getLevel();
        root.setLevel(Level.DEBUG);
        root.addAppender(logged);
        List<String> seen = new ArrayList<>();
        try {
            String url = TestPostgres.get().newDatabase();
            String withSecret = url + (url.contains("?") ? "&" : "?") + "password=" + QUERY;
            try (JdbcAuditStore store = JdbcAuditStore.open(withSecret, "postgres", PROP, "gw")) {
                store.write(List.of(AuditSamples.message("S1", AuditSamples.T0, "a@b.example",
                        List.of("c@d.example"), null)));
                seen.add(String.valueOf(store));
            }
            int closed;
            try (ServerSocket s = new ServerSocket(0)) {
                closed = s.getLocalPort();
            }
            String down = "jdbc:postgresql://127.0.0.1:" + closed + "/audit?password=" + QUERY;
            assertThatThrownBy(() -> JdbcAuditStore.open(down, "postgres", PROP, "gw"))
                    .isInstanceOf(AuditStore.AuditStoreException.class)
                    .satisfies(e -> {
                        for (Throwable t = e; t != null; t = t.getCause()) seen.add(String.valueOf(t));
                    });
        } finally {
            root.detachAppender(logged);
            root.setLevel(before);
        }
        for (ILoggingEvent e : logged.list) {
            seen.add(dev.postern.testkit.LogLines.line(e));
            for (IThrowableProxy t = e.getThrowableProxy(); t != null; t = t.getCause()) seen.add(t.getMessage());
        }
        assertThat(seen).isNotEmpty().noneMatch(s -> s != null && (s.contains(PROP) || s.contains(QUERY)));
    }
}
