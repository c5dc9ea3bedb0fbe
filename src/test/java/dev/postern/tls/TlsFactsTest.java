package dev.postern.tls;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class TlsFactsTest {

    @ParameterizedTest
    @CsvSource({
            "TLS_AES_256_GCM_SHA384, 256",
            "TLS_CHACHA20_POLY1305_SHA256, 256",
            "TLS_AES_128_GCM_SHA256, 128",
            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, 256",
            "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, 256",
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, 128",
            "TLS_RSA_WITH_AES_128_CBC_SHA, 128",
            "SSL_RSA_WITH_3DES_EDE_CBC_SHA, 112",
            "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA, 112",
            "TLS_RSA_WITH_NULL_SHA256, 0",
            "SSL_NULL_WITH_NULL_NULL, 0",
            "TLS_EMPTY_RENEGOTIATION_INFO_SCSV, -1",
            "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA, -1",
            "not a suite, -1",
    })
    void cipherBitsFollowsTheBulkCipher(String suite, int bits) {
        assertThat(TlsFacts.cipherBits(suite)).isEqualTo(bits);
    }

    @Test
    void cipherBitsOfNullIsUnknown() {
        assertThat(TlsFacts.cipherBits(null)).isEqualTo(-1);
    }

    @Test
    void receivedClauseIsWordForWordPostfix() {
        var facts = new TlsFacts("TLSv1.3", "TLS_AES_256_GCM_SHA384", 256, null);
        assertThat(facts.receivedClause()).isEqualTo("(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits))");
        assertThat(new TlsFacts("TLSv1.2", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", 128, "CN=x").receivedClause())
                .isEqualTo("(using TLSv1.2 with cipher TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 (128/128 bits))");
    }

    @Test
    void receivedClauseLeavesOutUnknownBits() {
        assertThat(new TlsFacts("TLSv1.2", "TLS_MYSTERY", -1, null).receivedClause())
                .isEqualTo("(using TLSv1.2 with cipher TLS_MYSTERY)");
    }
}
