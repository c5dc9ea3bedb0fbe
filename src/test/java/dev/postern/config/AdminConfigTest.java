package dev.postern.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code [admin]}: its address apart from every listener and the MTA-STS policy server, one line when not. */
class AdminConfigTest {
    @TempDir Path dir;
    private ConfigFiles files;

    @BeforeEach void files() { files = new ConfigFiles(dir); }

    @Test void defaultsAndEveryKey() throws Exception {
        assertThat(files.load("").watch().admin()).isEqualTo(Config.Admin.DEFAULT)
                .isEqualTo(new Config.Admin(new InetSocketAddress("127.0.0.1", 8025), false));
        assertThat(files.load("[admin]\nlisten = \"[::1]:9025\"\ntls = true\n").watch().admin())
                .isEqualTo(new Config.Admin(new InetSocketAddress("::1", 9025), true));
        assertThat(files.load("[admin]\nlisten = \"\"\n").watch().admin().listen()).isNull();
    }

    @Test void notOnAListenersAddress() throws Exception {
        assertThat(files.problems("""
                [[listeners]]
                address = "0.0.0.0:2525"
                role = "mx"
                [admin]
                listen = "127.0.0.1:2525"
                """)).containsExactly("postern.toml: admin.listen: expected an address no listener uses, got "
                + "\"127.0.0.1:2525\" (listeners[0] uses it)");
        assertThat(files.problems("""
                [[listeners]]
                address = "127.0.0.1:8025"
                role = "mx"
                """)).containsExactly("postern.toml: admin.listen: expected an address no listener uses, got "
                + "\"127.0.0.1:8025\" (the default) (listeners[0] uses it)");
        // another address on the same port, or the same address on another port, is apart
        assertThat(files.load("""
                [[listeners]]
                address = "192.0.2.1:8025"
                role = "mx"
                [admin]
                listen = "127.0.0.1:8025"
                """).watch().admin().listen().getPort()).isEqualTo(8025);
    }

    @Test void notOnTheMtaStsPolicyServer() throws Exception {
        assertThat(files.problems("""
                local_domains = ["example.com"]
                [mta_sts.publish]
                listen = "[::]:8443"
                [admin]
                listen = "127.0.0.1:8443"
                """)).containsExactly("postern.toml: admin.listen: expected an address the MTA-STS policy server "
                + "does not use, got \"127.0.0.1:8443\" (mta_sts.publish.listen uses it)");
    }
}
