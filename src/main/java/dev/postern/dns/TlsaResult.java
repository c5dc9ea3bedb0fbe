package dev.postern.dns;

import java.util.List;

/**
 * The TLSA RRset of one service ({@code _25._tcp.HOST}), RFC 6698 / RFC 7672 §2.2.
 *
 * @param queried  the name asked, "_25._tcp.mx.example.com"
 * @param owner    the name the records were found at after CNAMEs were followed (lookup form)
 * @param records  empty when there are none (NXDOMAIN or NODATA)
 * @param security of the answer, CNAMEs and denial of existence included; DANE applies only when SECURE
 */
public record TlsaResult(String queried, String owner, List<TlsaRecord> records, Security security) {
    public TlsaResult {
        records = List.copyOf(records);
    }
}
