package dev.postern.docs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.config.Config;
import dev.postern.config.ConfigLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the administrator reads must be what the gateway does: the documented default and the shipped example. */
class DocumentedDefaultsTest {
    @TempDir Path dir;

    /** docs/configuration.md "The embedded default", as a file, is the embedded default (every key and value). */
    @Test void theEmbeddedDefaultBlockIsTheEmbeddedDefault() throws Exception {
        String doc = Files.readString(Path.of("docs/configuration.md"));
        int section = doc.indexOf("## The embedded default");
        assertThat(section).isPositive();
        int start = doc.indexOf("```toml\n", section) + "```toml\n".length();
        String block = doc.substring(start, doc.indexOf("```", start));
        Path data = dir.resolve("data");
        Config embedded = ConfigLoader.defaults(data);
        String toml = block.replaceFirst("hostname = \"<[^\"]*>\"", "hostname = \"" + embedded.hostname() + "\"\ndata_dir = \""
                + data.toAbsolutePath().toString().replace("\\", "\\\\") + "\"");
        Path file = dir.resolve("documented.toml");
        Files.writeString(file, toml);
        Config documented = ConfigLoader.load(file);
        assertThat(documented).usingRecursiveComparison().ignoringFields("source").isEqualTo(embedded);
    }

    /** examples/postern.toml passes the check a new administrator runs first. */
    @Test void theExampleLoads() throws Exception {
        Config example = ConfigLoader.load(Path.of("examples/postern.toml"));
        assertThat(example.localDomains()).containsExactly("example.com");
    }
}
