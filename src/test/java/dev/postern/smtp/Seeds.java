package dev.postern.smtp;

/**
 * The seeds of the seeded property loops of this package: {@code CASES} seeds from 0 by default, so CI runs the same
 * cases every time; {@code -Dpostern.properties.cases=N} runs more, {@code -Dpostern.properties.seed=S} starts
 * elsewhere (a failure names its seed: {@code -Dpostern.properties.seed=S -Dpostern.properties.cases=1} replays it).
 */
final class Seeds {
    private Seeds() {}

    /** Calls {@code check} once per seed; a failure is rethrown with its seed in front. */
    /** One case of a property, from its seed. */
    interface Check {
        void run(long seed) throws Exception;
    }

    static void each(int cases, Check check) {
        long first = Long.getLong("postern.properties.seed", 0L);
        long n = Long.getLong("postern.properties.cases", cases);
        for (long seed = first; seed < first + n; seed++) {
            try {
                check.run(seed);
            } catch (Exception | AssertionError e) {
                throw new AssertionError("seed " + seed + " (replay: -Dpostern.properties.seed=" + seed
                        + " -Dpostern.properties.cases=1): " + e.getMessage(), e);
            }
        }
    }
}
