package dev.postern.testkit;

import dev.postern.tls.Certificates;
import dev.postern.tls.KeyMaterial;
import dev.postern.tls.Pem;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * A partner's CA (30 days) and the EC server certificate it issued for {@code host} (valid from a minute ago), the
 * CA's certificate written to {@code caFile}: a next hop whose certificate verifies under a "verify" policy whose
 * {@code ca_file} is that file.
 */
public record PartnerPki(KeyMaterial ca, KeyMaterial server, Path caFile) {

    public static PartnerPki create(String caName, String host, Duration validity, Path dir) throws Exception {
        KeyMaterial ca = Certificates.certificateAuthority(caName, Certificates.KeyType.EC_P256, Duration.ofDays(30));
        KeyMaterial server = Certificates.issue(ca, List.of(host), Certificates.KeyType.EC_P256,
                Instant.now().minusSeconds(60), validity);
        Path caFile = dir.resolve("ca.pem");
        Pem.write(ca, caFile, dir.resolve("ca.key"));
        return new PartnerPki(ca, server, caFile);
    }
}
