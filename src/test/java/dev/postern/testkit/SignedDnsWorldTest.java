package dev.postern.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.postern.dns.DnsResolver;
import dev.postern.dns.Security;
import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The signed test world itself: records added later are served, signed, after a restart on the same port. */
class SignedDnsWorldTest {
    @TempDir Path dir;

    @Test void restartServesChangedZonesSignedOnTheSamePort() throws Exception {
        try (SignedDnsWorld world = new SignedDnsWorld(dir)) {
            world.zone("grow.test").a("one.grow.test", "127.0.0.21");
            world.start(false);
            var port = world.nsd();
            assertThat(new DnsResolver(world.validating(Duration.ofSeconds(2))).resolve("two.grow.test").addresses())
                    .isEmpty();
            assertThatThrownBy(world::unbound).hasMessageContaining("start(true)");

            world.zone("grow.test").a("two.grow.test", "127.0.0.22");
            world.restart();
            assertThat(world.nsd()).isEqualTo(port);
            var two = new DnsResolver(world.validating(Duration.ofSeconds(2))).resolve("two.grow.test");
            assertThat(two.addresses()).containsExactly(InetAddress.ofLiteral("127.0.0.22"));
            assertThat(two.security()).isEqualTo(Security.SECURE);
        }
    }
}
