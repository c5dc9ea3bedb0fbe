package dev.postern;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.lang.annotation.Annotation;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.platform.commons.annotation.Testable;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/**
 * A test class that compiles but never runs is a defect: every class under target/test-classes that declares a JUnit
 * test method (any annotation marked {@link Testable}: @Test, @ParameterizedTest, @RepeatedTest, @TestFactory, ...)
 * must have a name that the Surefire includes in pom.xml pick up; a nested one must be a non-static @Nested inner class
 * of such a class (see {@link #whyNotRun}).
 */
class TestDiscoveryTest {

    @Test void everyTestClassMatchesTheSurefireIncludes() throws Exception {
        List<Pattern> includes = surefireIncludes(Path.of("pom.xml"));
        assertThat(includes).as("surefire <includes> in pom.xml").isNotEmpty();

        Path classes = Path.of(TestDiscoveryTest.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        TreeSet<String> testClasses = new TreeSet<>();
        TreeSet<String> missed = new TreeSet<>();
        for (String name : classNames(classes)) {
            Class<?> c = Class.forName(name, false, TestDiscoveryTest.class.getClassLoader());
            if (c.isInterface() || Modifier.isAbstract(c.getModifiers()) || !declaresTests(c)) continue;
            if (c.getEnclosingClass() == TestDiscoveryTest.class) continue; // this test's own examples, below
            testClasses.add(outermost(c).getName());
            String why = whyNotRun(c, includes);
            if (why != null) missed.add(why);
        }
        assertThat(testClasses).as("test classes found in " + classes).contains(TestDiscoveryTest.class.getName());
        assertThat(missed).as("test classes Surefire never runs").isEmpty();
    }

    /**
     * Surefire selects top-level classes only (its default excludes drop every "Outer$Inner"), and JUnit runs a nested
     * class from its enclosing class only when it is a non-static inner class annotated @Nested, at every level. A
     * static nested class with tests inside a *Test class compiles, looks picked up by its file name, and never runs.
     */
    static String whyNotRun(Class<?> c, List<Pattern> includes) {
        for (Class<?> k = c; k.getEnclosingClass() != null; k = k.getEnclosingClass()) {
            if (Modifier.isStatic(k.getModifiers()) || !k.isAnnotationPresent(Nested.class)) {
                return c.getName() + " (a nested class runs only as a non-static @Nested inner class)";
            }
        }
        String path = outermost(c).getName().replace('.', '/') + ".java";
        if (includes.stream().noneMatch(p -> p.matcher(path).matches())) {
            return outermost(c).getName() + " (rename it to *Test)";
        }
        return null;
    }

    private static Class<?> outermost(Class<?> c) {
        Class<?> outer = c;
        while (outer.getEnclosingClass() != null) outer = outer.getEnclosingClass();
        return outer;
    }

    /** Nested classes: only the @Nested inner kind runs; the static kind is reported however its file is named. */
    @Test void aStaticNestedTestClassIsReported() throws Exception {
        List<Pattern> includes = surefireIncludes(Path.of("pom.xml"));
        assertThat(whyNotRun(NotPickedUp.class, includes)).contains("NotPickedUp", "@Nested");
        assertThat(whyNotRun(Inner.class, includes)).contains("Inner", "@Nested");
        assertThat(whyNotRun(RunsNested.class, includes)).isNull();
        assertThat(whyNotRun(TestDiscoveryTest.class, includes)).isNull();
    }

    /** Not @Nested: JUnit does not run it from this class either. */
    @SuppressWarnings("InnerClassMayBeStatic")
    final class Inner {
        @Test void example() {}
    }

    /** What does run: JUnit finds it from this class. */
    @Nested
    final class RunsNested {
        @Test void runs() { assertThat(declaresTests(RunsNested.class)).isTrue(); }
    }

    /** The scan itself must see a class whose name Surefire would skip. */
    @Test void aClassNamedOtherwiseIsReported() throws Exception {
        List<Pattern> includes = surefireIncludes(Path.of("pom.xml"));
        assertThat(declaresTests(NotPickedUp.class)).isTrue();
        assertThat(includes).noneMatch(p -> p.matcher("dev/postern/DataProperties.java").matches())
                .anyMatch(p -> p.matcher("dev/postern/smtp/DataPropertiesTest.java").matches())
                .anyMatch(p -> p.matcher("dev/postern/TestDiscoveryTest.java").matches())
                .anyMatch(p -> p.matcher("dev/postern/packaging/DebPackageIT.java").matches());
    }

    /** An example of what the scan looks for: tests in a class that never runs (static nested: Surefire skips it). */
    static final class NotPickedUp {
        @org.junit.jupiter.params.ParameterizedTest
        @org.junit.jupiter.params.provider.ValueSource(ints = 1)
        void example(int i) { assertThat(i).isOne(); }
    }

    static boolean declaresTests(Class<?> c) {
        try {
            for (Method m : c.getDeclaredMethods()) {
                for (Annotation a : m.getAnnotations()) {
                    if (a.annotationType().isAnnotationPresent(Testable.class)) return true;
                    for (Annotation meta : a.annotationType().getAnnotations()) {
                        if (meta.annotationType().isAnnotationPresent(Testable.class)) return true; // @ParameterizedTest
                    }
                }
            }
        } catch (NoClassDefFoundError e) {
            throw new AssertionError("cannot inspect " + c.getName(), e);
        }
        return false;
    }

    static List<String> classNames(Path root) throws IOException {
        try (Stream<Path> files = Files.walk(root)) {
            return files.filter(p -> p.toString().endsWith(".class"))
                    .map(p -> root.relativize(p).toString())
                    .filter(n -> !n.equals("module-info.class") && !n.endsWith("package-info.class"))
                    .map(n -> n.substring(0, n.length() - ".class".length()).replace('/', '.'))
                    .sorted().toList();
        }
    }

    /**
     * The maven-surefire-plugin's {@code <include>} patterns as regular expressions over "pkg/Name.java", and those of
     * the maven-failsafe-plugin (its defaults when it names none): the integration tests that need the packaged build
     * (e.g. packaging/DebPackageIT) run in the integration-test phase, after package.
     */
    static List<Pattern> surefireIncludes(Path pom) throws Exception {
        Document doc = DocumentBuilderFactory.newDefaultInstance().newDocumentBuilder().parse(pom.toFile());
        NodeList plugins = doc.getElementsByTagName("plugin");
        List<Pattern> out = new ArrayList<>();
        for (int i = 0; i < plugins.getLength(); i++) {
            Element plugin = (Element) plugins.item(i);
            String artifact = text(plugin, "artifactId");
            if (!artifact.equals("maven-surefire-plugin") && !artifact.equals("maven-failsafe-plugin")) continue;
            NodeList includes = plugin.getElementsByTagName("include");
            for (int j = 0; j < includes.getLength(); j++) out.add(glob(includes.item(j).getTextContent().strip()));
            if (artifact.equals("maven-failsafe-plugin") && includes.getLength() == 0) {
                for (String g : List.of("**/IT*.java", "**/*IT.java", "**/*ITCase.java")) out.add(glob(g));
            }
        }
        return out;
    }

    private static String text(Element e, String child) {
        NodeList l = e.getElementsByTagName(child);
        return l.getLength() == 0 ? "" : l.item(0).getTextContent().strip();
    }

    /** Ant-style: "**&#47;" any directories, "*" within one name. */
    private static Pattern glob(String glob) {
        StringBuilder re = new StringBuilder();
        for (int i = 0; i < glob.length(); i++) {
            char c = glob.charAt(i);
            if (glob.startsWith("**/", i)) {
                re.append("(?:.*/)?");
                i += 2;
            } else if (c == '*') {
                re.append("[^/]*");
            } else {
                re.append(Pattern.quote(String.valueOf(c)));
            }
        }
        return Pattern.compile(re.toString());
    }
}
