package dev.postern.tls;

import dev.postern.files.DurableFiles;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Set;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1Primitive;
import org.bouncycastle.asn1.DERNull;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.pkcs.RSAPrivateKey;
import org.bouncycastle.asn1.sec.ECPrivateKey;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.util.io.pem.PemHeader;
import org.bouncycastle.util.io.pem.PemObject;
import org.bouncycastle.util.io.pem.PemReader;

/** Reading and writing PEM files: certificate chains, PKCS#8 keys (and PKCS#1/SEC1 keys on read), public keys. */
public final class Pem {
    private Pem() {}

    private static final Set<PosixFilePermission> KEY_MODE = DurableFiles.PRIVATE_FILE;
    private static final Set<PosixFilePermission> CERT_MODE = DurableFiles.PUBLIC_FILE;

    /** Loads a key and chain from PEM files (they may be the same file). Throws {@link TlsConfigException} naming the file. */
    public static KeyMaterial load(Path certificateFile, Path keyFile) throws TlsConfigException {
        List<X509Certificate> chain = readCertificates(certificateFile);
        PrivateKey key = readPrivateKey(keyFile);
        if (!matches(key, chain.getFirst().getPublicKey(), keyFile)) {
            throw new TlsConfigException("key does not match certificate " + certificateFile);
        }
        return new KeyMaterial(key, chain);
    }

    /** Reads all certificates of a PEM file (a CA bundle). */
    public static List<X509Certificate> readCertificates(Path file) throws TlsConfigException {
        List<X509Certificate> certificates = new ArrayList<>();
        CertificateFactory factory;
        try {
            factory = CertificateFactory.getInstance("X.509");
        } catch (CertificateException e) {
            throw new IllegalStateException("no X.509 certificate factory", e);
        }
        List<PemObject> blocks = readBlocks(file);
        for (PemObject block : blocks) {
            if (!block.getType().equals("CERTIFICATE") && !block.getType().equals("X509 CERTIFICATE")) continue;
            try {
                certificates.add((X509Certificate) factory.generateCertificate(new ByteArrayInputStream(block.getContent())));
            } catch (CertificateException | RuntimeException e) {
                throw new TlsConfigException(file + ": bad certificate #" + (certificates.size() + 1) + " (" + oneLine(e) + ")", e);
            }
        }
        if (certificates.isEmpty()) throw new TlsConfigException(file + ": not a PEM certificate" + holds(blocks));
        return List.copyOf(certificates);
    }

    /**
     * Writes chain (PEM, mode 0644) and key (PKCS#8 PEM, mode 0600 where the filesystem supports it), each atomically.
     */
    public static void write(KeyMaterial material, Path certificateFile, Path keyFile) throws IOException {
        write(material, certificateFile, keyFile, CERT_MODE);
    }

    /** Like {@link #write}, with the certificate 0600 too: every file in the data directory is private. */
    public static void writePrivate(KeyMaterial material, Path certificateFile, Path keyFile) throws IOException {
        write(material, certificateFile, keyFile, KEY_MODE);
    }

    private static void write(KeyMaterial material, Path certificateFile, Path keyFile,
                              Set<PosixFilePermission> certificateMode) throws IOException {
        byte[] chain = certificatesPem(material.chain());
        byte[] key = privateKeyPem(material.key());
        try {
            if (certificateFile.toAbsolutePath().normalize().equals(keyFile.toAbsolutePath().normalize())) {
                // One file holding both: it holds a key, so it gets the key's mode.
                byte[] both = Arrays.copyOf(chain, chain.length + key.length);
                System.arraycopy(key, 0, both, chain.length, key.length);
                try {
                    writeAtomically(keyFile, both, KEY_MODE);
                } finally {
                    Arrays.fill(both, (byte) 0);
                }
            } else {
                writeAtomically(certificateFile, chain, certificateMode);
                writeAtomically(keyFile, key, KEY_MODE);
            }
        } finally {
            Arrays.fill(key, (byte) 0);
        }
    }

    /** Writes a private key alone (PKCS#8 PEM, mode 0600 where the filesystem supports it), atomically. */
    public static void writePrivateKey(PrivateKey key, Path keyFile) throws IOException {
        byte[] pem = privateKeyPem(key);
        try {
            writeAtomically(keyFile, pem, KEY_MODE);
        } finally {
            Arrays.fill(pem, (byte) 0);
        }
    }

    /** A PKCS#10 certificate request as PEM text ("CERTIFICATE REQUEST"); it holds no secret. */
    public static String certificationRequest(org.bouncycastle.pkcs.PKCS10CertificationRequest request) throws IOException {
        return block("CERTIFICATE REQUEST", request.getEncoded());
    }

    /** Writes a PEM text that holds no secret (a certificate request), mode 0644, atomically. */
    public static void writePublic(String pem, Path file) throws IOException {
        if (pem.contains("PRIVATE KEY")) throw new IllegalArgumentException("refusing to write key material as public");
        writeAtomically(file, pem.getBytes(StandardCharsets.US_ASCII), CERT_MODE);
    }

    /**
     * Whether {@code key} belongs to {@code certificate}: a fresh challenge signed with the key must verify with the
     * certificate's public key. False as well for key types Postern cannot sign with.
     */
    public static boolean keyMatches(PrivateKey key, X509Certificate certificate) {
        try {
            return matches(key, certificate.getPublicKey(), Path.of("key"));
        } catch (TlsConfigException e) {
            return false;
        }
    }

    /** A public key as PEM text ("PUBLIC KEY", the DER SubjectPublicKeyInfo); it holds no secret. */
    public static String publicKeyPem(PublicKey key) {
        return block("PUBLIC KEY", key.getEncoded());
    }

    /**
     * The public key of a PEM file: its first "PUBLIC KEY" block, else the public key of its first certificate (so an
     * auditor may be given either).
     */
    public static PublicKey readPublicKey(Path file) throws TlsConfigException {
        for (PemObject block : readBlocks(file)) {
            if (!block.getType().equals("PUBLIC KEY")) continue;
            try {
                return new JcaPEMKeyConverter().getPublicKey(
                        org.bouncycastle.asn1.x509.SubjectPublicKeyInfo.getInstance(block.getContent()));
            } catch (IOException | RuntimeException e) {
                throw new TlsConfigException(file + ": bad PUBLIC KEY (" + oneLine(e) + ")", e);
            }
        }
        try {
            return readCertificates(file).getFirst().getPublicKey();
        } catch (TlsConfigException e) {
            if (e.getMessage().startsWith(file + ": not a PEM certificate")) {
                throw new TlsConfigException(file + ": no PUBLIC KEY or CERTIFICATE block found", e);
            }
            throw e;
        }
    }

    /** Reads the first private key of a PEM file (PKCS#8, PKCS#1 RSA or SEC1 EC; not encrypted). */
    public static PrivateKey readPrivateKey(Path file) throws TlsConfigException {
        byte[] ecParameters = null; // "openssl ecparam -genkey" puts the curve in its own block before the key
        List<PemObject> blocks = readBlocks(file);
        for (PemObject block : blocks) {
            String type = block.getType();
            if (type.equals("EC PARAMETERS")) ecParameters = block.getContent();
            if (isEncryptedKey(block)) {
                throw new TlsConfigException(file + ": encrypted private keys are not supported");
            }
            PrivateKeyInfo info;
            try {
                info = switch (type) {
                    case "PRIVATE KEY" -> PrivateKeyInfo.getInstance(block.getContent());
                    case "RSA PRIVATE KEY" -> new PrivateKeyInfo(
                            new AlgorithmIdentifier(PKCSObjectIdentifiers.rsaEncryption, DERNull.INSTANCE),
                            RSAPrivateKey.getInstance(block.getContent()));
                    case "EC PRIVATE KEY" -> {
                        ECPrivateKey sec1 = ECPrivateKey.getInstance(block.getContent());
                        ASN1Encodable curve = sec1.getParametersObject() != null ? sec1.getParametersObject()
                                : ecParameters != null ? ASN1Primitive.fromByteArray(ecParameters) : null;
                        if (curve == null) throw new IOException("no curve parameters");
                        yield new PrivateKeyInfo(new AlgorithmIdentifier(X9ObjectIdentifiers.id_ecPublicKey, curve), sec1);
                    }
                    default -> null;
                };
                if (info != null) return new JcaPEMKeyConverter().getPrivateKey(info);
            } catch (IOException | RuntimeException e) {
                throw new TlsConfigException(file + ": bad " + type + " (" + oneLine(e) + ")", e);
            }
        }
        throw new TlsConfigException(file + ": no private key found" + holds(blocks));
    }

    /**
     * What a file holds instead of the block that was looked for, for the error line: a key given as a certificate
     * (or the reverse), a certificate request, a public key; " (no PEM block)" for a text file without one.
     */
    private static String holds(List<PemObject> blocks) {
        if (blocks.isEmpty()) return " (no PEM block in it)";
        List<String> kinds = blocks.stream().map(b -> isEncryptedKey(b) ? "an encrypted private key"
                : switch (b.getType()) {
                    case "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY" -> "a private key";
                    case "CERTIFICATE", "X509 CERTIFICATE" -> "a certificate";
                    case "CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST" ->
                            "a certificate request (CSR: a CA signs it into the certificate)";
                    case "PUBLIC KEY" -> "a public key";
                    case "EC PARAMETERS" -> "EC parameters";
                    default -> "a \"" + b.getType() + "\" block";
                }).distinct().toList();
        return " (it holds " + String.join(" and ", kinds) + ")";
    }

    /** PKCS#8 "ENCRYPTED PRIVATE KEY", or an OpenSSL legacy key with a "Proc-Type: 4,ENCRYPTED" header. */
    private static boolean isEncryptedKey(PemObject block) {
        if (block.getType().equals("ENCRYPTED PRIVATE KEY")) return true;
        if (!block.getType().endsWith("PRIVATE KEY")) return false;
        for (Object header : block.getHeaders()) {
            if (header instanceof PemHeader h && h.getName().equalsIgnoreCase("Proc-Type") && h.getValue().contains("ENCRYPTED")) {
                return true;
            }
        }
        return false;
    }

    private static List<PemObject> readBlocks(Path file) throws TlsConfigException {
        List<PemObject> blocks = new ArrayList<>();
        if (Files.isDirectory(file)) throw new TlsConfigException(file + ": a directory, not a PEM file");
        try {
            if (Files.size(file) == 0) throw new TlsConfigException(file + ": an empty file, not PEM");
        } catch (IOException e) {
            // not there or not readable: said below, where the read fails
        }
        try (Reader reader = Files.newBufferedReader(file, StandardCharsets.US_ASCII); PemReader pem = new PemReader(reader)) {
            for (PemObject block; (block = pem.readPemObject()) != null; ) blocks.add(block);
        } catch (NoSuchFileException e) {
            throw new TlsConfigException(file + ": no such file", e);
        } catch (java.nio.file.AccessDeniedException e) {
            throw new TlsConfigException(file + ": permission denied", e);
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new TlsConfigException(file + ": not a PEM file (binary content" + (derSequence(file)
                    ? ", DER: convert it with openssl x509 -inform der, or openssl pkey -inform der for a key)" : ")"), e);
        } catch (IOException | RuntimeException e) {
            throw new TlsConfigException(file + ": cannot read PEM (" + oneLine(e) + ")", e);
        }
        return blocks;
    }

    /** Whether a binary file starts as DER does (an ASN.1 SEQUENCE), to say so in the error line. */
    private static boolean derSequence(Path file) {
        try (var in = Files.newInputStream(file)) {
            return in.read() == 0x30;
        } catch (IOException e) {
            return false;
        }
    }

    /** Proves possession: a fresh challenge signed with the key must verify with the certificate's public key. */
    private static boolean matches(PrivateKey key, PublicKey certificateKey, Path keyFile) throws TlsConfigException {
        String algorithm = switch (key.getAlgorithm()) {
            case "RSA" -> "SHA256withRSA";
            case "EC" -> "SHA256withECDSA";
            case "EdDSA", "Ed25519", "Ed448" -> key.getAlgorithm();
            default -> throw new TlsConfigException(keyFile + ": unsupported private key algorithm " + key.getAlgorithm());
        };
        if (!sameFamily(key.getAlgorithm(), certificateKey.getAlgorithm())) return false;
        try {
            byte[] challenge = new byte[32];
            new SecureRandom().nextBytes(challenge);
            Signature signer = Signature.getInstance(algorithm);
            signer.initSign(key);
            signer.update(challenge);
            byte[] signature = signer.sign();
            Signature verifier = Signature.getInstance(algorithm);
            verifier.initVerify(certificateKey);
            verifier.update(challenge);
            return verifier.verify(signature);
        } catch (GeneralSecurityException | RuntimeException e) {
            return false; // e.g. EC keys on different curves
        }
    }

    private static boolean sameFamily(String keyAlgorithm, String certificateAlgorithm) {
        return keyAlgorithm.equals(certificateAlgorithm)
                || keyAlgorithm.startsWith("Ed") && certificateAlgorithm.startsWith("Ed");
    }

    private static byte[] certificatesPem(List<X509Certificate> chain) throws IOException {
        StringBuilder out = new StringBuilder();
        for (X509Certificate certificate : chain) {
            try {
                out.append(block("CERTIFICATE", certificate.getEncoded()));
            } catch (java.security.cert.CertificateEncodingException e) {
                throw new IOException("cannot encode certificate " + certificate.getSubjectX500Principal(), e);
            }
        }
        return out.toString().getBytes(StandardCharsets.US_ASCII);
    }

    private static byte[] privateKeyPem(PrivateKey key) throws IOException {
        byte[] der = key.getEncoded();
        if (der == null || !"PKCS#8".equals(key.getFormat())) {
            throw new IOException("private key (" + key.getAlgorithm() + ") cannot be encoded as PKCS#8");
        }
        try {
            return block("PRIVATE KEY", der).getBytes(StandardCharsets.US_ASCII);
        } finally {
            Arrays.fill(der, (byte) 0);
        }
    }

    /** One certificate as PEM text ("CERTIFICATE"); it holds no secret. */
    public static String certificate(X509Certificate certificate) throws java.security.cert.CertificateEncodingException {
        return block("CERTIFICATE", certificate.getEncoded());
    }

    private static String block(String type, byte[] der) {
        String base64 = Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der);
        return "-----BEGIN " + type + "-----\n" + base64 + "\n-----END " + type + "-----\n";
    }

    /** Temp file in the same directory (created with its final mode), fsync, rename, fsync the directory. */
    private static void writeAtomically(Path target, byte[] content, Set<PosixFilePermission> mode) throws IOException {
        DurableFiles.SYSTEM.write(target, content, mode);
    }

    private static String oneLine(Throwable e) {
        String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        return message.replaceAll("\\s+", " ").strip();
    }
}
