package dev.postern.peers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The levels file: rises only, written at once on a rise, read back after a restart, bounded, forgettable. */
class PeerLevelsTest {
    @TempDir Path data;
    static final Instant T0 = Instant.parse("2026-12-01T10:00:00Z");

    PeerLevels open(int max) throws IOException {
        return PeerLevels.open(data, max, Duration.ofHours(1));
    }

    @Test void levelsRiseNeverFallAndARiseIsWrittenAtOnce() throws Exception {
        try (PeerLevels p = open(10)) {
            assertThat(p.observe("b.example", Direction.OUT, Level.ENCRYPTED, T0)).isTrue();
            // written before observe returned: a crash now loses nothing
            assertThat(PeerLevels.read(data)).singleElement().satisfies(d ->
                    assertThat(d.out()).isEqualTo(new Seen(Level.ENCRYPTED, T0, T0, T0)));
            assertThat(p.observe("b.example", Direction.OUT, Level.PLAIN, T0.plusSeconds(60))).isFalse();
            assertThat(p.observe("b.example", Direction.OUT, Level.VERIFIED, T0.plusSeconds(120))).isTrue();
            assertThat(p.observe("b.example", Direction.OUT, Level.ENCRYPTED, T0.plusSeconds(180))).isFalse();
            Seen out = p.get("b.example", Direction.OUT).orElseThrow();
            assertThat(out).isEqualTo(new Seen(Level.VERIFIED, T0.plusSeconds(120), T0, T0.plusSeconds(180)));
            assertThat(p.get("b.example", Direction.IN)).isEmpty();
            assertThat(p.observe("b.example", Direction.IN, Level.DANE, T0)).isTrue();
        }
        assertThat(Files.getPosixFilePermissions(PeerLevels.file(data)))
                .isEqualTo(PosixFilePermissions.fromString("rw-------"));
        // a restart: everything back, "last seen" included (written at close)
        try (PeerLevels p = open(10)) {
            assertThat(p.get("b.example", Direction.OUT).orElseThrow())
                    .isEqualTo(new Seen(Level.VERIFIED, T0.plusSeconds(120), T0, T0.plusSeconds(180)));
            assertThat(p.get("b.example", Direction.IN).orElseThrow().level()).isEqualTo(Level.DANE);
        }
    }

    @Test void aPlainFirstSightingIsKeptButNotWrittenUntilTheFlush() throws Exception {
        try (PeerLevels p = open(10)) {
            assertThat(p.observe("plain.example", Direction.OUT, Level.PLAIN, T0)).isFalse();
            assertThat(PeerLevels.read(data)).isEmpty();
            p.flush();
            assertThat(PeerLevels.read(data)).singleElement()
                    .satisfies(d -> assertThat(d.out().level()).isEqualTo(Level.PLAIN));
        }
    }

    @Test void pastTheCapPlainOnlyDomainsGoFirstThenTheOldest() throws Exception {
        try (PeerLevels p = open(3)) {
            p.observe("old.example", Direction.OUT, Level.ENCRYPTED, T0);
            p.observe("plain.example", Direction.OUT, Level.PLAIN, T0.plusSeconds(100));
            p.observe("new.example", Direction.IN, Level.VERIFIED, T0.plusSeconds(200));
            p.observe("fourth.example", Direction.OUT, Level.ENCRYPTED, T0.plusSeconds(300));
            assertThat(p.all()).extracting(DomainLevels::domain)
                    .containsExactly("fourth.example", "new.example", "old.example");
            p.observe("fifth.example", Direction.OUT, Level.ENCRYPTED, T0.plusSeconds(400));
            assertThat(p.all()).extracting(DomainLevels::domain)
                    .containsExactly("fifth.example", "fourth.example", "new.example");
        }
    }

    @Test void forgetOneDirectionOrBoth() throws Exception {
        try (PeerLevels p = open(10)) {
            p.observe("b.example", Direction.OUT, Level.ENCRYPTED, T0);
            p.observe("b.example", Direction.IN, Level.ENCRYPTED, T0);
            assertThat(p.forget("b.example", Direction.OUT)).isPresent();
            assertThat(p.get("b.example", Direction.OUT)).isEmpty();
            assertThat(p.get("b.example", Direction.IN)).isPresent();
            assertThat(p.forget("b.example", Direction.OUT)).isEmpty();
            assertThat(p.forget("b.example", null)).isPresent();
            assertThat(p.get("b.example")).isEmpty();
            assertThat(PeerLevels.read(data)).isEmpty(); // written at once
        }
    }

    @Test void aDamagedFileIsNamedNotIgnored() throws Exception {
        Files.createDirectories(PeerLevels.file(data).getParent());
        Files.writeString(PeerLevels.file(data), "{\"version\":1,\"domains\":[{\"domain\":\"b.example\","
                + "\"out\":{\"level\":\"secure\"}}]}");
        assertThatThrownBy(() -> open(10)).isInstanceOf(IOException.class)
                .hasMessage(PeerLevels.file(data) + ": not a peer levels file: b.example: expected level (plain, "
                        + "encrypted, verified or dane), since, firstSeen and lastSeen, got level secure");
        Files.writeString(PeerLevels.file(data), "{\"version\":7,\"domains\":[]}");
        assertThatThrownBy(() -> PeerLevels.read(data)).hasMessageEndingWith(
                "not a peer levels file: expected version 1 with domains, got version 7");
        Files.writeString(PeerLevels.file(data), "[1, 2");
        assertThatThrownBy(() -> PeerLevels.read(data)).hasMessageStartingWith(
                PeerLevels.file(data) + ": not a peer levels file: ");
    }

    @Test void concurrentSessionsLoseNothing() throws Exception {
        try (PeerLevels p = open(10_000)) {
            List<Thread> threads = new java.util.ArrayList<>();
            for (int t = 0; t < 8; t++) {
                int n = t;
                threads.add(Thread.ofVirtual().start(() -> {
                    for (int i = 0; i < 200; i++) {
                        p.observe("d" + i + ".example", Direction.OUT, Level.values()[(i + n) % 4], T0.plusSeconds(i));
                    }
                }));
            }
            for (Thread t : threads) t.join();
            assertThat(p.all()).hasSize(200);
            assertThat(p.all()).allSatisfy(d -> assertThat(d.out().level()).isEqualTo(Level.DANE));
        }
        assertThat(PeerLevels.read(data)).hasSize(200).allSatisfy(d ->
                assertThat(d.out().level()).isEqualTo(Level.DANE));
    }
}
