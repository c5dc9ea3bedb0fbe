package dev.postern.audit;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/** The alert state changes kept in the store ({@code alert} table): what {@code GET /api/alerts} and the CLI list. */
final class AlertHistory {
    private AlertHistory() {}

    /** At most this many rows in one answer, newest first: a flapping alert must not make the answer huge. */
    static final int LIMIT = 1000;

    /** The state changes of every gateway in the store since {@code since}, newest first. */
    static List<AlertRecord> since(Connection db, Instant since) throws SQLException {
        List<AlertRecord> out = new ArrayList<>();
        try (PreparedStatement p = db.prepareStatement("SELECT at, alert_key, kind, subject, state, summary, detail "
                + "FROM alert WHERE at >= ? ORDER BY at DESC, alert_key LIMIT " + LIMIT)) {
            p.setLong(1, since.toEpochMilli());
            try (ResultSet rs = p.executeQuery()) {
                while (rs.next()) {
                    AlertRecord.Kind kind;
                    AlertRecord.State state;
                    try {
                        kind = AlertRecord.Kind.valueOf(rs.getString(3));
                        state = AlertRecord.State.valueOf(rs.getString(5));
                    } catch (IllegalArgumentException e) {
                        continue; // a kind a newer version wrote: not ours to show
                    }
                    out.add(new AlertRecord(JdbcAuditStore.instant(rs, 1), rs.getString(2), kind, rs.getString(4),
                            state, rs.getString(6), rs.getString(7)));
                }
            }
        }
        return out;
    }
}
