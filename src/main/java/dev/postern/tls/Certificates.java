package dev.postern.tls;

import java.io.IOException;
import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.RSAPrivateCrtKey;
import java.security.spec.ECPublicKeySpec;
import java.security.spec.RSAPublicKeySpec;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.ExtensionsGenerator;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.jcajce.provider.asymmetric.util.EC5Util;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;

/** Making certificates (Bouncy Castle): self-signed server certificates, and small CAs and leaves for tests and tools. */
public final class Certificates {
    private Certificates() {}

    /** Key algorithm of a generated key. */
    public enum KeyType { RSA_2048, RSA_3072, RSA_4096, EC_P256, EC_P384, RSA_1024 /* only for tests of weak keys */ }

    /** Tolerates clocks of peers that are a little behind ours. */
    private static final Duration BACKDATE = Duration.ofHours(1);

    private static final SecureRandom RANDOM = new SecureRandom();

    /** A self-signed server certificate for {@code hosts} (first is the CN; all are SAN DNS names or IP addresses). */
    public static KeyMaterial selfSigned(List<String> hosts, KeyType type, Duration validity) {
        requireHosts(hosts);
        KeyPair pair = generate(type);
        Instant now = Instant.now();
        X500Name name = commonName(hosts.getFirst());
        var builder = new JcaX509v3CertificateBuilder(name, serial(), date(now.minus(BACKDATE)),
                date(now.plus(positive(validity))), name, pair.getPublic());
        X509Certificate certificate = build(builder, pair.getPrivate(), b -> leafExtensions(b, hosts, pair.getPublic(), pair.getPublic()));
        return new KeyMaterial(pair.getPrivate(), List.of(certificate));
    }

    /** A CA certificate (basicConstraints CA=true, keyCertSign) with the given common name. */
    public static KeyMaterial certificateAuthority(String commonName, KeyType type, Duration validity) {
        KeyPair pair = generate(type);
        Instant now = Instant.now();
        X500Name name = commonName(commonName);
        var builder = new JcaX509v3CertificateBuilder(name, serial(), date(now.minus(BACKDATE)),
                date(now.plus(positive(validity))), name, pair.getPublic());
        X509Certificate certificate = build(builder, pair.getPrivate(), b -> {
            JcaX509ExtensionUtils utils = extensionUtils();
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
            b.addExtension(Extension.subjectKeyIdentifier, false, utils.createSubjectKeyIdentifier(pair.getPublic()));
            b.addExtension(Extension.authorityKeyIdentifier, false, utils.createAuthorityKeyIdentifier(pair.getPublic()));
        });
        return new KeyMaterial(pair.getPrivate(), List.of(certificate));
    }

    /**
     * A leaf issued by {@code issuer}: SAN DNS names (or IPs) {@code hosts}, serverAuth and clientAuth EKU, valid from
     * {@code notBefore} for {@code validity} (a negative offset makes expired certificates for tests). The returned
     * chain is leaf then issuer chain.
     */
    public static KeyMaterial issue(KeyMaterial issuer, List<String> hosts, KeyType type,
                                    java.time.Instant notBefore, Duration validity) {
        requireHosts(hosts);
        KeyPair pair = generate(type);
        X509Certificate issuerCertificate = issuer.leaf();
        var builder = new JcaX509v3CertificateBuilder(issuerCertificate, serial(), date(notBefore),
                date(notBefore.plus(positive(validity))), commonName(hosts.getFirst()), pair.getPublic());
        X509Certificate certificate = build(builder, issuer.key(),
                b -> leafExtensions(b, hosts, pair.getPublic(), issuerCertificate.getPublicKey()));
        List<X509Certificate> chain = new ArrayList<>();
        chain.add(certificate);
        chain.addAll(issuer.chain());
        return new KeyMaterial(pair.getPrivate(), chain);
    }

    /**
     * A PKCS#10 certificate request for {@code hosts} (first is the CN; all go into a subjectAltName extension
     * request, DNS names or IP addresses), signed with {@code key} (RSA or EC) whose public half is {@code publicKey}.
     */
    public static PKCS10CertificationRequest certificationRequest(List<String> hosts, PrivateKey key, PublicKey publicKey) {
        requireHosts(hosts);
        try {
            ExtensionsGenerator extensions = new ExtensionsGenerator();
            extensions.addExtension(Extension.subjectAlternativeName, false, subjectAltNames(hosts));
            var builder = new JcaPKCS10CertificationRequestBuilder(commonName(hosts.getFirst()), publicKey)
                    .addAttribute(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest, extensions.generate());
            return builder.build(new JcaContentSignerBuilder(signatureAlgorithm(key)).build(key));
        } catch (IOException | OperatorCreationException e) {
            throw new IllegalStateException("cannot build certificate request: " + e.getMessage(), e);
        }
    }

    /** A new key pair of the given type. */
    public static KeyPair generateKeyPair(KeyType type) {
        return generate(type);
    }

    /**
     * The public key that belongs to an RSA (CRT form, as every PEM key is) or EC private key.
     *
     * @throws IllegalArgumentException for other key types
     */
    public static PublicKey publicKey(PrivateKey key) {
        try {
            if (key instanceof RSAPrivateCrtKey rsa) {
                return KeyFactory.getInstance("RSA").generatePublic(
                        new RSAPublicKeySpec(rsa.getModulus(), rsa.getPublicExponent()));
            }
            if (key instanceof ECPrivateKey ec) {
                org.bouncycastle.jce.spec.ECParameterSpec spec = EC5Util.convertSpec(ec.getParams());
                org.bouncycastle.math.ec.ECPoint q = spec.getG().multiply(ec.getS()).normalize();
                java.security.spec.ECPoint w = new java.security.spec.ECPoint(q.getAffineXCoord().toBigInteger(),
                        q.getAffineYCoord().toBigInteger());
                return KeyFactory.getInstance("EC").generatePublic(new ECPublicKeySpec(w, ec.getParams()));
            }
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot derive the public key: " + e.getMessage(), e);
        }
        throw new IllegalArgumentException("unsupported private key type " + key.getAlgorithm() + " (RSA or EC needed)");
    }

    private interface Extensions {
        void add(X509v3CertificateBuilder builder) throws CertIOException;
    }

    private static void leafExtensions(X509v3CertificateBuilder b, List<String> hosts, PublicKey subjectKey,
                                       PublicKey issuerKey) throws CertIOException {
        JcaX509ExtensionUtils utils = extensionUtils();
        // keyEncipherment only matters for RSA key transport, which Postern never enables, but clients expect it.
        int usage = KeyUsage.digitalSignature | (subjectKey.getAlgorithm().equals("RSA") ? KeyUsage.keyEncipherment : 0);
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
        b.addExtension(Extension.keyUsage, true, new KeyUsage(usage));
        b.addExtension(Extension.extendedKeyUsage, false,
                new ExtendedKeyUsage(new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}));
        b.addExtension(Extension.subjectAlternativeName, false, subjectAltNames(hosts));
        b.addExtension(Extension.subjectKeyIdentifier, false, utils.createSubjectKeyIdentifier(subjectKey));
        b.addExtension(Extension.authorityKeyIdentifier, false, utils.createAuthorityKeyIdentifier(issuerKey));
    }

    private static GeneralNames subjectAltNames(List<String> hosts) {
        GeneralName[] names = hosts.stream()
                .map(h -> Hosts.isIpLiteral(h)
                        ? new GeneralName(GeneralName.iPAddress, Hosts.unbracket(h))
                        : new GeneralName(GeneralName.dNSName, Hosts.asciiDnsName(h)))
                .toArray(GeneralName[]::new);
        return new GeneralNames(names);
    }

    private static X509Certificate build(X509v3CertificateBuilder builder, PrivateKey signingKey, Extensions extensions) {
        try {
            extensions.add(builder);
            var signer = new JcaContentSignerBuilder(signatureAlgorithm(signingKey)).build(signingKey);
            return new JcaX509CertificateConverter().getCertificate(builder.build(signer));
        } catch (CertIOException | OperatorCreationException | GeneralSecurityException e) {
            throw new IllegalStateException("cannot build certificate: " + e.getMessage(), e);
        }
    }

    private static String signatureAlgorithm(PrivateKey key) {
        return switch (key.getAlgorithm()) {
            case "RSA" -> "SHA256withRSA";
            case "EC" -> "SHA256withECDSA";
            default -> throw new IllegalArgumentException("cannot sign with a " + key.getAlgorithm() + " key");
        };
    }

    private static KeyPair generate(KeyType type) {
        try {
            KeyPairGenerator generator;
            switch (type) {
                case EC_P256, EC_P384 -> {
                    generator = KeyPairGenerator.getInstance("EC");
                    generator.initialize(new ECGenParameterSpec(type == KeyType.EC_P256 ? "secp256r1" : "secp384r1"), RANDOM);
                }
                case RSA_1024, RSA_2048, RSA_3072, RSA_4096 -> {
                    generator = KeyPairGenerator.getInstance("RSA");
                    generator.initialize(Integer.parseInt(type.name().substring("RSA_".length())), RANDOM);
                }
                default -> throw new IllegalArgumentException("unknown key type " + type);
            }
            return generator.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot generate " + type + " key", e);
        }
    }

    /** Random, positive, at most 128 bits (RFC 5280 allows up to 20 octets). */
    private static BigInteger serial() {
        BigInteger serial;
        do serial = new BigInteger(128, RANDOM); while (serial.signum() == 0);
        return serial;
    }

    private static JcaX509ExtensionUtils extensionUtils() {
        try {
            return new JcaX509ExtensionUtils();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("no SHA-1 for key identifiers", e);
        }
    }

    private static X500Name commonName(String cn) {
        return new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.CN, cn).build();
    }

    private static Date date(Instant instant) {
        return Date.from(instant.truncatedTo(ChronoUnit.SECONDS)); // X.509 times have whole seconds
    }

    private static Duration positive(Duration validity) {
        if (validity.isNegative() || validity.isZero()) throw new IllegalArgumentException("validity must be positive: " + validity);
        return validity;
    }

    private static void requireHosts(List<String> hosts) {
        if (hosts.isEmpty()) throw new IllegalArgumentException("at least one host name is needed");
    }
}
