package dev.postern;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The fuzz targets as the build runs them (docs/reliability.md, "Fuzzing"): Jazzer fuzzes one @FuzzTest per JVM, and
 * the pom's "fuzz" surefire execution gives each class whose name ends in FuzzTest a JVM of its own. So every class with
 * a @FuzzTest is named *FuzzTest and holds exactly one (a second would never be fuzzed), and each has its committed
 * inputs (seeds, corpus, crash reproducers) under src/test/resources/PACKAGE/CLASSInputs/METHOD/, which every build
 * runs as regression tests.
 */
class FuzzTargetsTest {

    @Test void everyFuzzTargetIsFuzzedAndHasItsInputs() throws Exception {
        Path classes = Path.of(FuzzTargetsTest.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        List<String> targets = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        for (String name : TestDiscoveryTest.classNames(classes)) {
            Class<?> c = Class.forName(name, false, FuzzTargetsTest.class.getClassLoader());
            List<Method> fuzz = Stream.of(c.getDeclaredMethods()).filter(m -> m.isAnnotationPresent(FuzzTest.class))
                    .toList();
            if (fuzz.isEmpty()) continue;
            targets.add(c.getSimpleName());
            if (!c.getSimpleName().endsWith("FuzzTest") || c.getEnclosingClass() != null) {
                problems.add(name + ": a top-level class named *FuzzTest, or the fuzz execution never fuzzes it");
            }
            if (fuzz.size() != 1) problems.add(name + ": " + fuzz.size() + " @FuzzTest methods, Jazzer fuzzes one");
            for (Method m : fuzz) {
                Path inputs = Path.of("src/test/resources", c.getPackageName().replace('.', '/'),
                        c.getSimpleName() + "Inputs", m.getName());
                if (files(inputs) == 0) problems.add(name + ": no committed inputs in " + inputs);
            }
        }
        assertThat(targets).as("fuzz targets").hasSizeGreaterThanOrEqualTo(10);
        assertThat(problems).isEmpty();
        String pom = Files.readString(Path.of("pom.xml"));
        assertThat(pom).as("the fuzz execution").contains("<include>**/*FuzzTest.java</include>",
                "<reuseForks>false</reuseForks>", "<JAZZER_FUZZ>1</JAZZER_FUZZ>");
    }

    private static long files(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) return 0;
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(Files::isRegularFile).count();
        }
    }
}
