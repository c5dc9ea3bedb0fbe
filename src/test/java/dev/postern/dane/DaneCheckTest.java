package dev.postern.dane;

import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.dns.TlsaRecord;
import dev.postern.tls.TestPki;
import dev.postern.tls.TestPki.Issued;
import java.security.MessageDigest;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The RFC 7672 judgement of certificate chains against TLSA records, with chains made here: a root, an intermediate
 * and a leaf for mx.b.example (the MX host) that is also named mx.dane.b.example (the CNAME-expanded base domain).
 */
class DaneCheckTest {
    static final List<String> NAMES = List.of("mx.dane.b.example", "mx.b.example");
    static final Instant NOW = Instant.now();

    static Issued root;
    static Issued inter;
    static Issued leaf;
    static List<X509Certificate> chain;

    @BeforeAll static void pki() {
        root = TestPki.root("DANE Root");
        inter = TestPki.cert("DANE Intermediate").issuer(root).ca().build();
        leaf = TestPki.cert("mx.b.example").issuer(inter).dns("mx.b.example").build();
        chain = List.of(leaf.cert(), inter.cert());
    }

    /** A TLSA record for {@code cert} as a zone would publish it. */
    static TlsaRecord tlsa(int usage, int selector, int matchingType, X509Certificate cert) throws Exception {
        byte[] selected = selector == 0 ? cert.getEncoded() : cert.getPublicKey().getEncoded();
        byte[] data = switch (matchingType) {
            case 1 -> MessageDigest.getInstance("SHA-256").digest(selected);
            case 2 -> MessageDigest.getInstance("SHA-512").digest(selected);
            default -> selected;
        };
        return new TlsaRecord(usage, selector, matchingType, data);
    }

    static DaneCheck.Verdict check(List<X509Certificate> chain, TlsaRecord... records) {
        return DaneCheck.check(List.of(records), chain, NAMES, NOW);
    }

    @Test void daneEeMatchesTheLeafBySelectorAndMatchingType() throws Exception {
        for (int[] smt : new int[][] {{1, 1}, {0, 1}, {1, 2}, {0, 0}, {1, 0}, {0, 2}}) {
            TlsaRecord r = tlsa(3, smt[0], smt[1], leaf.cert());
            DaneCheck.Verdict v = check(chain, r);
            assertThat(v.outcome()).as("3 %d %d", smt[0], smt[1]).isEqualTo(DaneCheck.Outcome.MATCHED);
            assertThat(v.matched()).isEqualTo(r);
            assertThat(v.reason()).startsWith("DANE-EE 3 " + smt[0] + " " + smt[1] + " ");
        }
    }

    @Test void daneEeOfAnotherKeyIsAMismatch() throws Exception {
        Issued other = TestPki.leaf(inter, "mx.b.example");
        DaneCheck.Verdict v = check(chain, tlsa(3, 1, 1, other.cert()));
        assertThat(v.outcome()).isEqualTo(DaneCheck.Outcome.MISMATCH);
        assertThat(v.reason()).contains("DANE-EE 3 1 1").contains("does not match");
        // the intermediate's key is no DANE-EE match either: only the leaf counts
        assertThat(check(chain, tlsa(3, 1, 1, inter.cert())).outcome()).isEqualTo(DaneCheck.Outcome.MISMATCH);
    }

    @Test void daneEeIgnoresNamesAndExpiry() throws Exception {
        Issued expired = TestPki.cert("elsewhere.example").issuer(inter).dns("elsewhere.example")
                .valid(NOW.minus(Duration.ofDays(60)), NOW.minus(Duration.ofDays(30))).build();
        assertThat(check(List.of(expired.cert(), inter.cert()), tlsa(3, 1, 1, expired.cert())).outcome())
                .isEqualTo(DaneCheck.Outcome.MATCHED);
        // self-signed and alone: DANE-EE needs no chain at all
        Issued selfSigned = TestPki.cert("whatever").dns("whatever.example").build();
        assertThat(check(List.of(selfSigned.cert()), tlsa(3, 0, 1, selfSigned.cert())).outcome())
                .isEqualTo(DaneCheck.Outcome.MATCHED);
    }

    @Test void daneTaMatchesAnIntermediateTheServerSends() throws Exception {
        TlsaRecord r = tlsa(2, 0, 1, inter.cert());
        DaneCheck.Verdict v = check(chain, r);
        assertThat(v.outcome()).isEqualTo(DaneCheck.Outcome.MATCHED);
        assertThat(v.matched()).isEqualTo(r);
        assertThat(v.name()).isEqualTo("mx.b.example");
        assertThat(v.reason()).startsWith("DANE-TA 2 0 1 ").endsWith("matched, name mx.b.example");
    }

    @Test void daneTaByPublicKeyOfTheRootTheServerSends() throws Exception {
        List<X509Certificate> withRoot = List.of(leaf.cert(), inter.cert(), root.cert());
        assertThat(check(withRoot, tlsa(2, 1, 1, root.cert())).outcome()).isEqualTo(DaneCheck.Outcome.MATCHED);
        // the root's digest cannot match when the server does not send it (RFC 7672 §3.1.2: it must)
        DaneCheck.Verdict v = check(chain, tlsa(2, 1, 1, root.cert()));
        assertThat(v.outcome()).isEqualTo(DaneCheck.Outcome.MISMATCH);
        assertThat(v.reason()).contains("no certificate the server sent is this trust anchor");
    }

    @Test void daneTaFullPublicKeyAnchorsAChainWithoutItsCertificate() throws Exception {
        assertThat(check(chain, tlsa(2, 1, 0, root.cert())).outcome()).isEqualTo(DaneCheck.Outcome.MATCHED);
        assertThat(check(chain, tlsa(2, 0, 0, root.cert())).outcome()).isEqualTo(DaneCheck.Outcome.MATCHED);
    }

    @Test void daneTaChecksNamesAgainstBaseDomainAndMxHost() throws Exception {
        Issued wrongName = TestPki.leaf(inter, "other.example");
        DaneCheck.Verdict v = check(List.of(wrongName.cert(), inter.cert()), tlsa(2, 0, 1, inter.cert()));
        assertThat(v.outcome()).isEqualTo(DaneCheck.Outcome.MISMATCH);
        assertThat(v.reason()).contains("certificate name mismatch: other.example does not match "
                + "mx.dane.b.example or mx.b.example");
        // the base domain alone is a reference identifier too, and wildcards match one label (RFC 6125)
        Issued base = TestPki.leaf(inter, "*.dane.b.example");
        assertThat(check(List.of(base.cert(), inter.cert()), tlsa(2, 0, 1, inter.cert())).name())
                .isEqualTo("*.dane.b.example");
    }

    @Test void daneTaChecksTheLeafsDates() throws Exception {
        Issued expired = TestPki.cert("mx.b.example").issuer(inter).dns("mx.b.example")
                .valid(NOW.minus(Duration.ofDays(60)), NOW.minus(Duration.ofDays(30))).build();
        DaneCheck.Verdict v = check(List.of(expired.cert(), inter.cert()), tlsa(2, 0, 1, inter.cert()));
        assertThat(v.outcome()).isEqualTo(DaneCheck.Outcome.MISMATCH);
        assertThat(v.reason()).contains("the chain does not lead to this trust anchor");
    }

    @Test void daneTaOfACaThatDidNotIssueTheLeafIsAMismatch() throws Exception {
        Issued stranger = TestPki.root("Stranger Root");
        Issued strangerLeaf = TestPki.leaf(stranger, "mx.b.example");
        // the server sends a matching CA that is not the leaf's issuer
        DaneCheck.Verdict v = check(List.of(strangerLeaf.cert(), inter.cert()), tlsa(2, 0, 1, inter.cert()));
        assertThat(v.outcome()).isEqualTo(DaneCheck.Outcome.MISMATCH);
        assertThat(v.reason()).contains("the chain does not lead to this trust anchor");
    }

    @Test void crossSignedChainMatchesTheAlternativeRootTheServerSends() throws Exception {
        Issued newRoot = TestPki.root("New Root");
        Issued cross = TestPki.cert("New Root").keys(newRoot.keys()).issuer(root).ca().build();
        Issued newInter = TestPki.cert("New Intermediate").issuer(newRoot).ca().build();
        Issued newLeaf = TestPki.leaf(newInter, "mx.b.example");
        List<X509Certificate> sent = List.of(newLeaf.cert(), newInter.cert(), cross.cert(), root.cert());
        // the old root (reached through the cross-certificate) and the new root's key both anchor it
        assertThat(check(sent, tlsa(2, 0, 1, root.cert())).outcome()).isEqualTo(DaneCheck.Outcome.MATCHED);
        assertThat(check(sent, tlsa(2, 1, 1, newRoot.cert())).outcome()).isEqualTo(DaneCheck.Outcome.MATCHED);
        // a record for the new root's certificate: that certificate is not sent (only its cross-signed twin)
        assertThat(check(sent, tlsa(2, 0, 1, newRoot.cert())).outcome()).isEqualTo(DaneCheck.Outcome.MISMATCH);
    }

    @Test void pkixUsagesAreUnusableAndAloneMeanEncryptOnly() throws Exception {
        TlsaRecord pkixTa = tlsa(0, 0, 1, inter.cert());
        TlsaRecord pkixEe = tlsa(1, 1, 1, leaf.cert());
        assertThat(DaneCheck.unusable(pkixTa)).contains("RFC 7672 §3.1.3");
        DaneCheck.Verdict v = check(chain, pkixTa, pkixEe);
        assertThat(v.outcome()).isEqualTo(DaneCheck.Outcome.NO_USABLE_RECORDS);
        assertThat(v.authenticated()).isFalse();
        assertThat(v.reason()).startsWith("no usable TLSA records (PKIX-TA 0 0 1 ");
        // beside a usable record they are ignored: a PKIX-EE record matching the leaf does not authenticate it
        assertThat(check(chain, pkixEe, tlsa(3, 1, 1, inter.cert())).outcome())
                .isEqualTo(DaneCheck.Outcome.MISMATCH);
    }

    @Test void unknownParametersAndMalformedDataAreUnusable() throws Exception {
        byte[] digest = tlsa(3, 1, 1, leaf.cert()).data();
        TlsaRecord shortDigest = new TlsaRecord(3, 1, 1, Arrays.copyOf(digest, 31));
        TlsaRecord sha512Length = new TlsaRecord(3, 1, 2, digest);
        TlsaRecord usage4 = new TlsaRecord(4, 1, 1, digest);
        TlsaRecord selector2 = new TlsaRecord(3, 2, 1, digest);
        TlsaRecord mtype3 = new TlsaRecord(3, 1, 3, digest);
        TlsaRecord notACert = new TlsaRecord(2, 0, 0, digest);
        assertThat(DaneCheck.unusable(shortDigest)).isEqualTo("SHA2-256 data of 31 bytes, not 32");
        assertThat(DaneCheck.unusable(sha512Length)).isEqualTo("SHA2-512 data of 32 bytes, not 64");
        assertThat(DaneCheck.unusable(usage4)).isEqualTo("unknown certificate usage 4");
        assertThat(DaneCheck.unusable(selector2)).isEqualTo("unknown selector 2");
        assertThat(DaneCheck.unusable(mtype3)).isEqualTo("unknown matching type 3");
        assertThat(DaneCheck.unusable(notACert)).isEqualTo("association data is not a certificate");
        assertThat(check(chain, shortDigest, sha512Length, usage4, selector2, mtype3, notACert).outcome())
                .isEqualTo(DaneCheck.Outcome.NO_USABLE_RECORDS);
        // a malformed record beside a good one changes nothing
        assertThat(check(chain, shortDigest, tlsa(3, 1, 1, leaf.cert())).outcome())
                .isEqualTo(DaneCheck.Outcome.MATCHED);
    }

    @Test void onlyTheStrongestDigestOfAUsageAndSelectorCounts() throws Exception {
        TlsaRecord sha256 = tlsa(3, 1, 1, leaf.cert());
        TlsaRecord staleSha512 = tlsa(3, 1, 2, TestPki.leaf(inter, "old.example").cert());
        // RFC 7671 §9: with a SHA2-512 record present, the SHA2-256 one is ignored, though it would match
        assertThat(DaneCheck.usable(List.of(sha256, staleSha512))).containsExactly(staleSha512);
        assertThat(check(chain, sha256, staleSha512).outcome()).isEqualTo(DaneCheck.Outcome.MISMATCH);
        // another selector is another set: its SHA2-256 still counts
        TlsaRecord certSha256 = tlsa(3, 0, 1, leaf.cert());
        assertThat(check(chain, certSha256, staleSha512).outcome()).isEqualTo(DaneCheck.Outcome.MATCHED);
    }

    @Test void describeShortensTheData() throws Exception {
        TlsaRecord r = new TlsaRecord(3, 1, 1, new byte[] {(byte) 0xab, 0x12, (byte) 0xcd, 0x34, 0x56, 0x78});
        assertThat(DaneCheck.describe(r)).isEqualTo("DANE-EE 3 1 1 ab12cd34…");
        assertThat(DaneCheck.describe(new TlsaRecord(2, 0, 1, new byte[] {1, 2}))).isEqualTo("DANE-TA 2 0 1 0102");
    }
}
