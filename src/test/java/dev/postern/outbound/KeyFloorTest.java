package dev.postern.outbound;

import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.config.Config;
import dev.postern.config.Config.TlsLevel;
import dev.postern.tls.Certificates.KeyType;
import dev.postern.tls.PeerCheck;
import dev.postern.tls.TestPki;
import java.time.Instant;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The server key floor: min_key_bits when set (RSA-equivalent), else RSA 2048 / EC 256 for levels from encrypt up. */
class KeyFloorTest {
    static final Map<KeyType, PeerCheck.Certificate> CERTS = new EnumMap<>(KeyType.class);

    static PeerCheck.Certificate cert(KeyType type) {
        return CERTS.computeIfAbsent(type, t -> PeerCheck.inspect(
                List.of(TestPki.cert("mx.example").keyType(t).dns("mx.example").build().cert()), Set.of(),
                Instant.now()));
    }

    @ParameterizedTest(name = "[{index}] {0} min_key_bits={1} {2}: weak={3}")
    @CsvSource(delimiter = '|', textBlock = """
            # level   | min_key_bits (-1: not set) | key      | refused
            SECURE      | -1   | RSA_1024 | true
            VERIFY      | -1   | RSA_1024 | true
            FINGERPRINT | -1   | RSA_1024 | true
            ENCRYPT     | -1   | RSA_1024 | true
            MAY         | -1   | RSA_1024 | false
            NONE        | -1   | RSA_1024 | false
            SECURE      | -1   | RSA_2048 | false
            SECURE      | -1   | EC_P256  | false
            SECURE      | 0    | RSA_1024 | false
            SECURE      | 1024 | RSA_1024 | false
            SECURE      | 3072 | RSA_2048 | true
            SECURE      | 3072 | EC_P256  | false
            SECURE      | 4096 | EC_P256  | true
            MAY         | 2048 | RSA_1024 | true
            """)
    void floor(TlsLevel level, int minKeyBits, KeyType key, boolean refused) {
        Config.TlsPolicy policy = new Config.TlsPolicy(level, Config.PolicyMode.ENFORCE, "TLSv1.2", List.of(), 0,
                minKeyBits, List.of(), null, List.of(), null, null);
        assertThat(TlsPlanner.weakKey(cert(key), policy) != null).isEqualTo(refused);
    }
}
