package dev.postern.audit;

import dev.postern.testkit.TestPostgres;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.atomic.AtomicInteger;

/** The two databases every store test runs against; each call to {@link #newUrl} gives an empty database. */
enum Backend {
    SQLITE {
        @Override String newUrl(Path dir) {
            return "jdbc:sqlite:" + dir.resolve("audit-" + FILES.incrementAndGet() + ".db");
        }
    },
    POSTGRESQL {
        @Override String newUrl(Path dir) {
            return TestPostgres.get().newDatabase();
        }
    };

    private static final AtomicInteger FILES = new AtomicInteger();

    abstract String newUrl(Path dir);

    /** A number from a query, read over a connection of the test's own. */
    static long count(String url, String sql) throws SQLException {
        try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }
}
