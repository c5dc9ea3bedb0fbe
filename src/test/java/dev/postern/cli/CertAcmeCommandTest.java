package dev.postern.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code postern cert acme} as an administrator can get it wrong: one line and exit 2, never a stack trace. */
class CertAcmeCommandTest {
    @TempDir Path dir;

    @Test void anUnknownActionIsOneLine() {
        Cli.Result r = Cli.run("cert", "acme", "renwe", "--data", dir.toString());
        assertThat(r.exit()).as(r.toString()).isEqualTo(2);
        assertThat(r.errLines()).containsExactly("postern: cert acme renwe: expected status, renew or revoke");
    }

    @Test void acmeOffIsOneLine() throws Exception {
        Path config = dir.resolve("postern.toml");
        Files.writeString(config, "data_dir = \"" + dir.resolve("data") + "\"\n");
        Cli.Result r = Cli.run("cert", "acme", "status", "--config", config.toString());
        assertThat(r.exit()).as(r.toString()).isEqualTo(2);
        assertThat(r.errLines()).hasSize(1);
        assertThat(r.errLines().getFirst()).startsWith("postern: [acme] enabled is false in ")
                .endsWith("the gateway does not obtain its certificates by ACME");
    }

    @Test void statusWithoutAGatewayReadsTheDataDirectory() throws Exception {
        Path config = dir.resolve("postern.toml");
        Files.writeString(config, """
                hostname = "mx.example.com"
                data_dir = "%s"
                [acme]
                enabled = true
                names = ["mail.example.com"]
                key_type = "both"
                directory = "https://127.0.0.1:1/directory"
                """.formatted(dir.resolve("data")));
        Cli.Result r = Cli.run("cert", "acme", "status", "--config", config.toString());
        assertThat(r.exit()).as(r.toString()).isZero();
        assertThat(r.outLines()).first().isEqualTo("ACME https://127.0.0.1:1/directory (http-01) "
                + "for mx.example.com, mail.example.com");
        assertThat(r.out()).contains("ecdsa: no certificate yet").contains("rsa: no certificate yet");
        assertThat(dir.resolve("data/acme")).doesNotExist(); // status only reads
        // renew without a gateway, the CA not answering (port 1): one failure line per slot and exit 1, after
        // putting the self-signed copies (private) that the gateway will serve
        Cli.Result renew = Cli.run("cert", "acme", "renew", "--config", config.toString());
        assertThat(renew.exit()).as(renew.toString()).isEqualTo(1);
        assertThat(renew.outLines()).filteredOn(l -> l.startsWith("ecdsa: failed") || l.startsWith("rsa: failed"))
                .hasSize(2);
        assertThat(Files.getPosixFilePermissions(dir.resolve("data/acme/rsa.key")).toString())
                .isEqualTo("[OWNER_READ, OWNER_WRITE]");
    }
}
