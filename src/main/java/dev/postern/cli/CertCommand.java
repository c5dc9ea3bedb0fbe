package dev.postern.cli;

import dev.postern.config.Config;
import dev.postern.names.Domains;
import dev.postern.tls.Certificates;
import dev.postern.tls.KeyMaterial;
import dev.postern.tls.NameMatcher;
import dev.postern.tls.PeerCheck;
import dev.postern.tls.Pem;
import dev.postern.tls.TlsConfigException;
import dev.postern.trace.Json;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPublicKey;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.util.IPAddress;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.TypeConversionException;

/**
 * {@code postern cert ...}: make a self-signed certificate or a certificate request, show what a certificate is, and
 * check the gateway's own certificate. Never prints key material.
 */
@Command(name = "cert", mixinStandardHelpOptions = true, description = "Certificates: make a self-signed one or a request (CSR), show one, check the "
        + "gateway's own.",
        subcommands = {CertCommand.SelfSigned.class, CertCommand.Csr.class, CertCommand.Show.class,
                CertCommand.Check.class, CertAcmeCommand.class})
final class CertCommand implements Runnable {
    @Spec CommandSpec spec;

    @Override public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** Certificates expiring sooner than this get a warning from {@code check}. */
    static final Duration EXPIRY_WARNING = Duration.ofDays(30);

    private static final DateTimeFormatter TIME =
            DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss 'UTC'", Locale.ROOT).withZone(ZoneOffset.UTC);

    @Command(name = "self-signed", mixinStandardHelpOptions = true, description = "Make a self-signed certificate and its key (PEM; the key file is "
            + "readable by its owner only).")
    static final class SelfSigned implements Callable<Integer> {
        @Option(names = "--host", required = true, paramLabel = "NAME",
                description = "a name (or IP address) the certificate is for; repeat for more; the first is the CN")
        List<String> hosts;
        @Option(names = "--key-type", paramLabel = "TYPE", defaultValue = "ec-p256", converter = KeyTypes.class,
                description = "ec-p256 (default), ec-p384, rsa-2048, rsa-3072 or rsa-4096")
        Certificates.KeyType keyType;
        @Option(names = "--days", paramLabel = "N", defaultValue = "397", description = "validity in days "
                + "(default 397, within the CA/Browser Forum's 398)") int days;
        @Option(names = "--out-cert", required = true, paramLabel = "FILE") Path outCert;
        @Option(names = "--out-key", required = true, paramLabel = "FILE") Path outKey;
        @Option(names = "--force", description = "replace existing files") boolean force;

        @Override public Integer call() throws CliException {
            List<String> names = hosts(hosts);
            if (days < 1 || days > 36500) {
                throw new CliException("postern: --days: expected a number of days from 1 to 36500, got " + days, 2);
            }
            writable(outCert, force);
            writable(outKey, force);
            KeyMaterial made = Certificates.selfSigned(names, keyType, Duration.ofDays(days));
            try {
                Pem.write(made, outCert, outKey);
            } catch (IOException e) {
                throw new CliException("postern: cannot write " + outCert + " / " + outKey + ": " + e.getMessage(), 1);
            }
            X509Certificate c = made.leaf();
            PeerCheck.Certificate facts = PeerCheck.inspect(made.chain(), java.util.Set.of(), Instant.now());
            PrintStream out = System.out;
            out.println("Wrote a self-signed certificate to " + outCert + " and its key to " + outKey
                    + " (readable by you only).");
            row(out, "names", String.join(", ", names));
            row(out, "key", keyDescription(c.getPublicKey(), facts));
            row(out, "valid until", TIME.format(c.getNotAfter().toInstant()) + " (" + days + " days)");
            row(out, "cert SHA-256", facts.certSha256());
            row(out, "key SHA-256", facts.keySha256());
            out.println("Use it in [tls] (certificate = \"" + outCert + "\", key = \"" + outKey + "\"). Peers that "
                    + "verify certificates will not trust it; 'postern cert show " + outCert + "' prints what a "
                    + "partner needs to pin it.");
            return 0;
        }
    }

    @Command(name = "csr", mixinStandardHelpOptions = true, description = "Make a certificate signing request (PKCS#10, with the names as "
            + "subjectAltName) for an existing key or a new one. Printed when there is no --out.")
    static final class Csr implements Callable<Integer> {
        @Option(names = "--host", required = true, paramLabel = "NAME",
                description = "a name (or IP address) to certify; repeat for more; the first is the CN")
        List<String> hosts;

        @ArgGroup(exclusive = true, multiplicity = "1") KeySource keySource;

        static final class KeySource {
            @Option(names = "--key", paramLabel = "FILE", description = "an existing private key (PEM)") Path key;
            @Option(names = "--new-key", paramLabel = "FILE", description = "make a new key and write it here")
            Path newKey;
        }

        @Option(names = "--key-type", paramLabel = "TYPE", converter = KeyTypes.class,
                description = "for --new-key: ec-p256 (default), ec-p384, rsa-2048, rsa-3072 or rsa-4096")
        Certificates.KeyType keyType;
        @Option(names = "--out", paramLabel = "FILE", description = "write the CSR here instead of printing it")
        Path out;
        @Option(names = "--force", description = "replace existing files") boolean force;

        @Override public Integer call() throws CliException {
            List<String> names = hosts(hosts);
            if (keyType != null && keySource.newKey == null) {
                throw new CliException("postern: --key-type: only with --new-key (an existing key has its type)", 2);
            }
            if (out != null) writable(out, force);
            PrivateKey privateKey;
            PublicKey publicKey;
            if (keySource.key != null) {
                try {
                    privateKey = Pem.readPrivateKey(keySource.key);
                    publicKey = Certificates.publicKey(privateKey);
                } catch (TlsConfigException e) {
                    throw new CliException("postern: " + e.getMessage(), 2);
                } catch (IllegalArgumentException e) {
                    throw new CliException("postern: " + keySource.key + ": a " + keyTypeOf(e)
                            + " key cannot sign a certificate request here (RSA or EC needed)", 2);
                }
            } else {
                writable(keySource.newKey, force);
                if (out != null && samePath(out, keySource.newKey)) {
                    throw new CliException("postern: --out and --new-key name the same file " + out, 2);
                }
                KeyPair pair = Certificates.generateKeyPair(keyType == null ? Certificates.KeyType.EC_P256 : keyType);
                privateKey = pair.getPrivate();
                publicKey = pair.getPublic();
            }
            String pem;
            try {
                PKCS10CertificationRequest request = Certificates.certificationRequest(names, privateKey, publicKey);
                pem = Pem.certificationRequest(request);
            } catch (IOException | IllegalStateException e) {
                throw new CliException("postern: cannot make the certificate request: " + e.getMessage(), 1);
            }
            try {
                if (keySource.newKey != null) Pem.writePrivateKey(privateKey, keySource.newKey);
                if (out != null) Pem.writePublic(pem, out);
            } catch (IOException e) {
                throw new CliException("postern: cannot write: " + e.getMessage(), 1);
            }
            // stdout carries the CSR alone when it is printed, so that it can be piped; the rest goes to stderr.
            PrintStream info = out == null ? System.err : System.out;
            if (keySource.newKey != null) {
                info.println("Wrote a new " + keyName(keyType == null ? Certificates.KeyType.EC_P256 : keyType)
                        + " key to " + keySource.newKey + " (readable by you only).");
            }
            if (out != null) {
                info.println("Wrote a certificate request for " + String.join(", ", names) + " to " + out + ".");
            } else {
                System.out.print(pem);
                info.println("Certificate request for " + String.join(", ", names) + " (above); send it to your CA.");
            }
            return 0;
        }

        private static String keyTypeOf(IllegalArgumentException e) {
            Matcher m = Pattern.compile("type (\\S+)").matcher(String.valueOf(e.getMessage()));
            return m.find() ? m.group(1) : "key of this type";
        }
    }

    @Command(name = "show", mixinStandardHelpOptions = true, description = "What the certificates in a PEM file are: names, issuer, validity, key, "
            + "fingerprints.")
    static final class Show implements Callable<Integer> {
        @Parameters(paramLabel = "FILE", description = "a PEM file with one or more certificates") Path file;
        @Option(names = "--json", description = "one JSON document instead of text (fields: docs/operations.md)")
        boolean json;

        /** The certificates of a file, first first, as of {@code now}. */
        record Shown(String file, Instant now, List<Described> certificates) {}

        /**
         * One certificate as {@code cert show} describes it, for the text and the JSON alike.
         *
         * @param ca          a CA certificate (basicConstraints), else a leaf
         * @param names       its subjectAltNames: DNS names as they are, others as "IP 192.0.2.1", "email ..."
         * @param expiry      "expires in 824 days", "EXPIRED 3 days ago" or "not valid yet; starts in ..."
         * @param trustProblem why the system store does not trust it (with the chain after it), null when it does
         */
        record Described(int index, boolean ca, boolean selfSigned, String subject, List<String> names, String issuer,
                         Instant notBefore, Instant notAfter, String expiry, String key, String keyType, int keyBits,
                         int keyStrength, String signatureAlgorithm, String serial, boolean trusted,
                         String trustProblem, String certSha256, String keySha256) {}

        @Override public Integer call() throws CliException {
            List<X509Certificate> chain = certificates(file);
            Instant now = Instant.now();
            List<Described> all = new ArrayList<>();
            for (int i = 0; i < chain.size(); i++) {
                X509Certificate c = chain.get(i);
                PeerCheck.Certificate facts = PeerCheck.inspect(chain.subList(i, chain.size()),
                        PeerCheck.systemAnchors(), now);
                boolean self = selfSigned(c);
                all.add(new Described(i + 1, c.getBasicConstraints() >= 0, self, c.getSubjectX500Principal().getName(),
                        subjectAltNames(c), c.getIssuerX500Principal().getName(), c.getNotBefore().toInstant(),
                        c.getNotAfter().toInstant(), expiry(c, now), keyDescription(c.getPublicKey(), facts),
                        c.getPublicKey().getAlgorithm(), facts.keyBits(), facts.keyStrength(), c.getSigAlgName(),
                        c.getSerialNumber().toString(16), facts.trusted(), facts.trusted() ? null
                        : i == chain.size() - 1 && self ? "self-signed" : facts.trustProblem(), facts.certSha256(),
                        facts.keySha256()));
            }
            PrintStream out = System.out;
            if (json) {
                Utf8Out.print(Json.pretty(new Shown(file.toString(), now, all)) + "\n");
                return 0;
            }
            for (Described d : all) {
                if (d.index() > 1) out.println();
                out.println((all.size() > 1 ? "Certificate " + d.index() + " of " + all.size() : "Certificate")
                        + ": " + role(d));
                row(out, "subject", d.subject());
                row(out, "names", d.names().isEmpty() ? "none (no subjectAltName)" : String.join(", ", d.names()));
                row(out, "issuer", d.issuer() + (d.selfSigned() ? " (self-signed)" : ""));
                row(out, "valid from", TIME.format(d.notBefore()));
                row(out, "valid until", TIME.format(d.notAfter()) + " (" + d.expiry() + ")");
                row(out, "key", d.key());
                row(out, "signature", d.signatureAlgorithm());
                row(out, "serial", d.serial());
                row(out, "trust", d.trusted() ? "trusted by the system store"
                        : "not trusted by the system store: " + d.trustProblem());
                out.println("  SHA-256 of the certificate:");
                out.println("    " + d.certSha256());
                out.println("    " + colons(d.certSha256()));
                out.println("  SHA-256 of the public key:");
                out.println("    " + d.keySha256());
                out.println("    " + colons(d.keySha256()));
            }
            out.println();
            out.println("To pin a certificate (fingerprints = [...], see docs/tls-policy.md), paste one of its "
                    + "fingerprints in either form: the public key's stays the same when the certificate is renewed "
                    + "with the same key; the certificate's changes with every renewal.");
            return 0;
        }

        private static String role(Described d) {
            if (d.ca()) return "CA (may issue certificates)" + (d.selfSigned() ? ", self-signed root" : "");
            return "leaf (server or client certificate)" + (d.selfSigned() ? ", self-signed" : "");
        }
    }

    @Command(name = "check", mixinStandardHelpOptions = true, description = "Check the gateway's own certificates (each configured or generated "
            + "one): expiry, chain, trust, names, key. Exit 0 when fine, 1 with one line per problem.")
    static final class Check implements Callable<Integer> {
        @Mixin ConfigSource source;
        @Option(names = "--json", description = "one JSON document instead of text (fields: docs/operations.md); "
                + "the exit code is the same") boolean json;

        @Override public Integer call() throws CliException {
            Config config = source.load();
            List<Target> targets = new ArrayList<>();
            List<String> notYet = new ArrayList<>();
            if (config.tls().acme().enabled()) {
                for (var slot : new dev.postern.acme.AcmeFiles(config.dataDir()).slots(config.tls().acme().keyType())) {
                    if (Files.exists(slot.certificate())) {
                        targets.add(new Target(slot.certificate(), slot.key(), "ACME, " + slot.name()));
                    } else {
                        notYet.add(slot.certificate() + " (ACME, " + slot.name() + ")");
                    }
                }
                if (targets.isEmpty()) {
                    throw new CliException("postern: " + notYet.getFirst() + ": no such file ([acme] is enabled, "
                            + "and the gateway puts a self-signed copy there at its first start)", 2);
                }
            } else if (!config.tls().generated()) {
                List<Config.CertificatePair> pairs = config.tls().pairs();
                for (int i = 0; i < pairs.size(); i++) {
                    targets.add(new Target(pairs.get(i).certificate(), pairs.get(i).key(), pairs.size() == 1
                            ? "from [tls]" : "from [tls], " + (i + 1) + " of " + pairs.size()));
                }
            } else {
                for (Gateway.Generated g : Gateway.generatedPairs(config.dataDir())) {
                    if (Files.exists(g.certificate())) {
                        targets.add(new Target(g.certificate(), g.key(), "generated, self-signed, " + g.name()));
                    } else if (targets.isEmpty()) {
                        throw new CliException("postern: " + g.certificate() + ": no such file (no [tls] certificate "
                                + "is configured, and the gateway makes this self-signed one on its first start)", 2);
                    } else {
                        notYet.add(g.certificate() + " (" + g.name() + ")");
                    }
                }
            }
            // Every file is read before anything is judged: an unreadable one is one line and exit 2.
            List<List<X509Certificate>> chains = new ArrayList<>();
            List<PrivateKey> keys = new ArrayList<>();
            for (Target t : targets) {
                chains.add(certificates(t.certificate()));
                try {
                    keys.add(Pem.readPrivateKey(t.key()));
                } catch (TlsConfigException e) {
                    throw new CliException("postern: " + e.getMessage(), 2);
                }
            }
            Report report = new Report();
            for (int i = 0; i < targets.size(); i++) check(report, config, targets.get(i), chains.get(i), keys.get(i));
            for (String missing : notYet) {
                report.warning("generated", "not made yet: " + missing + "; the gateway makes it at its next start "
                        + "(until then it serves only the certificate above)");
            }
            Checked checked = report.result(Instant.now(), config.hostname());
            if (json) Utf8Out.print(Json.pretty(checked) + "\n");
            else checked.print(System.out);
            return checked.ok() ? 0 : 1;
        }

        /** A certificate and key file to check, and where they come from ("from [tls]", "generated, ..."). */
        record Target(Path certificate, Path key, String origin) {}

        private static void check(Report report, Config config, Target target, List<X509Certificate> chain,
                                  PrivateKey key) {
            Path keyFile = target.key();
            Instant now = Instant.now();
            X509Certificate leaf = chain.getFirst();
            // Expiry.
            Instant notAfter = leaf.getNotAfter().toInstant();
            report.heading(target, leaf.getSubjectX500Principal().getName(), notAfter);
            Instant notBefore = leaf.getNotBefore().toInstant();
            if (notAfter.isBefore(now)) {
                report.problem("expiry", "certificate EXPIRED " + ago(notAfter, now) + " (on " + TIME.format(notAfter)
                        + ")");
            } else if (notBefore.isAfter(now)) {
                report.problem("expiry", "certificate not valid yet: from " + TIME.format(notBefore));
            } else if (Duration.between(now, notAfter).compareTo(EXPIRY_WARNING) < 0) {
                report.warning("expiry", "certificate expires in " + in(now, notAfter) + " (on "
                        + TIME.format(notAfter) + "): renew it");
            } else {
                report.ok("expiry", "valid until " + TIME.format(notAfter) + " (expires in " + in(now, notAfter) + ")");
            }

            // Chain: each certificate issued by the next, none expired.
            boolean chainOk = true;
            for (int i = 0; i + 1 < chain.size(); i++) {
                X509Certificate child = chain.get(i);
                X509Certificate parent = chain.get(i + 1);
                if (!child.getIssuerX500Principal().equals(parent.getSubjectX500Principal()) || !signedBy(child, parent)) {
                    chainOk = false;
                    report.problem("chain", "chain: certificate " + (i + 2) + " ("
                            + parent.getSubjectX500Principal().getName()
                            + ") did not issue certificate " + (i + 1) + ", whose issuer is "
                            + child.getIssuerX500Principal().getName() + " (the file must hold the leaf first, then "
                            + "each issuer)");
                }
            }
            for (int i = 1; i < chain.size(); i++) {
                X509Certificate c = chain.get(i);
                if (c.getNotAfter().toInstant().isBefore(now)) {
                    chainOk = false;
                    report.problem("chain", "chain: certificate " + (i + 1) + " ("
                            + c.getSubjectX500Principal().getName()
                            + ") EXPIRED " + ago(c.getNotAfter().toInstant(), now));
                }
            }
            if (leaf.getBasicConstraints() >= 0) {
                report.warning("chain", "chain: the first certificate is a CA certificate; the server's own should "
                        + "come first");
            }
            if (chainOk) {
                report.ok("chain", "chain: " + (chain.size() == 1 ? "1 certificate" : chain.size()
                        + " certificates, each issued by the next"));
            }

            // Trust by the system store (dates are reported above).
            PeerCheck.Certificate facts = PeerCheck.inspect(chain, PeerCheck.systemAnchors(), now,
                    PeerCheck.Purpose.SERVER);
            if (facts.trusted()) {
                report.ok("trust", "trusted by the system store");
            } else if (selfSigned(leaf) && chain.size() == 1) {
                report.warning("trust", "self-signed: not trusted by the system store; partners that verify "
                        + "certificates (levels verify and secure) refuse it unless they trust or pin it");
            } else if (facts.problem().kind() == PeerCheck.ProblemKind.WRONG_USAGE
                    || facts.problem().kind() == PeerCheck.ProblemKind.WEAK_ALGORITHM) {
                report.warning("trust", "not usable as a TLS server certificate: " + facts.trustProblem());
            } else if (!facts.problem().kind().dates()) {
                X509Certificate last = chain.getLast();
                String missing = selfSigned(last) ? "" : "; its issuer " + last.getIssuerX500Principal().getName()
                        + " is not in the file: append the intermediate certificates after the leaf";
                report.warning("trust", "not trusted by the system store (a private CA?)" + missing
                        + "; partners must trust that CA or pin the certificate");
            }

            // Names.
            List<String> names = NameMatcher.names(leaf);
            String hostname = config.hostname();
            if (NameMatcher.firstMatch(names, List.of(hostname)) != null) {
                report.ok("names", "names: covers the hostname " + hostname);
            } else {
                report.problem("names", "names: the certificate does not cover the hostname " + hostname
                        + " (it names "
                        + (names.isEmpty() ? "nothing" : String.join(", ", names)) + ")");
            }

            // Key.
            if (Pem.keyMatches(key, leaf)) {
                report.ok("key", "key " + keyFile + " matches the certificate; "
                        + keyDescription(leaf.getPublicKey(), facts));
            } else {
                report.problem("key", "key " + keyFile + " does not match the certificate");
            }
            if (facts.keyStrength() > 0 && facts.keyStrength() < 2048) {
                report.warning("key", "weak key: " + keyDescription(leaf.getPublicKey(), facts)
                        + "; Postern and partners that enforce TLS refuse keys below RSA 2048 by default");
            }
        }
    }

    /**
     * What {@code cert check} found, for the text and the JSON alike: each certificate and key file checked, with one
     * finding per line of the text.
     */
    record Checked(Instant now, String hostname, boolean ok, int problems, int warnings,
                   List<CheckedPair> certificates) {
        void print(PrintStream out) {
            for (CheckedPair p : certificates) {
                out.println("Certificate " + p.certificate() + ", key " + p.key() + " (" + p.origin() + ")");
                for (Finding f : p.findings()) {
                    out.printf("  %-9s%s%n", f.severity().equals("problem") ? "PROBLEM" : f.severity(), f.text());
                }
            }
            if (problems > 0) {
                out.println(problems + (problems == 1 ? " problem" : " problems")
                        + (warnings > 0 ? ", " + warnings + (warnings == 1 ? " warning" : " warnings") : "") + ".");
            } else {
                out.println(warnings == 0 ? "All good." : "No problems; " + warnings
                        + (warnings == 1 ? " warning." : " warnings."));
            }
        }
    }

    /** One certificate file and its key as checked; {@code origin} "from [tls]", "generated, self-signed, ...". */
    record CheckedPair(String certificate, String key, String origin, String subject, Instant notAfter,
                       List<Finding> findings) {}

    /**
     * One line of a check: {@code severity} ok, warning or problem; {@code check} what was looked at: expiry,
     * chain, trust, names, key, or generated (a generated certificate not made yet).
     */
    record Finding(String severity, String check, String text) {}

    /** Collects the findings of a check, certificate by certificate. */
    private static final class Report {
        private final List<CheckedPair> pairs = new ArrayList<>();
        private List<Finding> current;
        int problems;
        int warnings;

        void heading(Check.Target t, String subject, Instant notAfter) {
            current = new ArrayList<>();
            pairs.add(new CheckedPair(t.certificate().toString(), t.key().toString(), t.origin(), subject, notAfter,
                    current));
        }

        void ok(String check, String s) { current.add(new Finding("ok", check, s)); }
        void warning(String check, String s) { warnings++; current.add(new Finding("warning", check, s)); }
        void problem(String check, String s) { problems++; current.add(new Finding("problem", check, s)); }

        Checked result(Instant now, String hostname) {
            List<CheckedPair> done = pairs.stream().map(p -> new CheckedPair(p.certificate(), p.key(), p.origin(),
                    p.subject(), p.notAfter(), List.copyOf(p.findings()))).toList();
            return new Checked(now, hostname, problems == 0, problems, warnings, done);
        }
    }

    // ---- helpers ----

    private static List<X509Certificate> certificates(Path file) throws CliException {
        try {
            return Pem.readCertificates(file);
        } catch (TlsConfigException e) {
            throw new CliException("postern: " + e.getMessage(), 2);
        }
    }

    /** Host names (ASCII form, lower-case; "*." allowed as the first label) or IP addresses, without duplicates. */
    static List<String> hosts(List<String> given) throws CliException {
        LinkedHashSet<String> out = new LinkedHashSet<>();
        for (String h : given) {
            String bare = h.length() > 2 && h.startsWith("[") && h.endsWith("]") ? h.substring(1, h.length() - 1) : h;
            if (IPAddress.isValid(bare)) {
                out.add(bare);
                continue;
            }
            String prefix = h.startsWith("*.") ? "*." : "";
            // "*." needs at least two labels after it (no "*.com"), as certificate name checks want
            String name = Domains.toHostNameOrNull(h.substring(prefix.length()));
            if (name == null || !prefix.isEmpty() && name.indexOf('.') < 0) {
                throw new CliException("postern: --host: expected a host name like gw.example.com or an IP address, "
                        + "got \"" + h + "\"", 2);
            }
            out.add(prefix + name);
        }
        return List.copyOf(out);
    }

    private static void writable(Path file, boolean force) throws CliException {
        if (Files.isDirectory(file)) throw new CliException("postern: " + file + ": is a directory", 2);
        if (Files.exists(file) && !force) {
            throw new CliException("postern: " + file + ": exists already (--force replaces it)", 2);
        }
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null && !Files.isDirectory(parent)) {
            throw new CliException("postern: " + file + ": no such directory " + parent, 2);
        }
    }

    private static boolean samePath(Path a, Path b) {
        return a.toAbsolutePath().normalize().equals(b.toAbsolutePath().normalize());
    }

    private static void row(PrintStream out, String name, String value) {
        out.printf("  %-14s %s%n", name + ":", value);
    }

    /** "EC P-256 (256 bits, as strong as RSA 3072)" or "RSA 2048 bits". */
    static String keyDescription(PublicKey key, PeerCheck.Certificate facts) {
        String algorithm = key.getAlgorithm();
        if (key instanceof ECPublicKey ec) {
            String spec = ec.getParams().toString();
            Matcher nist = Pattern.compile("NIST (P-\\d+)").matcher(spec);
            String curve = nist.find() ? nist.group(1) : spec.split("[ \\[(]", 2)[0];
            return "EC " + curve + " (" + facts.keyBits() + " bits, as strong as RSA " + facts.keyStrength() + ")";
        }
        if (algorithm.equals("RSA")) return "RSA " + facts.keyBits() + " bits";
        return algorithm + " (" + facts.keyBits() + " bits"
                + (facts.keyStrength() > 0 ? ", as strong as RSA " + facts.keyStrength() : "") + ")";
    }

    private static String keyName(Certificates.KeyType type) {
        return type.name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    static List<String> subjectAltNames(X509Certificate c) {
        List<String> out = new ArrayList<>();
        try {
            var sans = c.getSubjectAlternativeNames();
            if (sans == null) return out;
            for (List<?> san : sans) {
                Object type = san.get(0);
                if (Integer.valueOf(2).equals(type)) out.add(String.valueOf(san.get(1)));
                else if (Integer.valueOf(7).equals(type)) out.add("IP " + san.get(1));
                else if (Integer.valueOf(1).equals(type)) out.add("email " + san.get(1));
                else if (Integer.valueOf(6).equals(type)) out.add("URI " + san.get(1));
            }
        } catch (java.security.cert.CertificateParsingException e) {
            out.add("(unreadable subjectAltName)");
        }
        return out;
    }

    static boolean selfSigned(X509Certificate c) {
        return c.getSubjectX500Principal().equals(c.getIssuerX500Principal()) && signedBy(c, c);
    }

    private static boolean signedBy(X509Certificate child, X509Certificate parent) {
        try {
            child.verify(parent.getPublicKey());
            return true;
        } catch (GeneralSecurityException | RuntimeException e) {
            return false;
        }
    }

    /** "expires in 824 days" or "EXPIRED 3 days ago" or "not valid before ...". */
    static String expiry(X509Certificate c, Instant now) {
        Instant notAfter = c.getNotAfter().toInstant();
        if (notAfter.isBefore(now)) return "EXPIRED " + ago(notAfter, now);
        Instant notBefore = c.getNotBefore().toInstant();
        if (notBefore.isAfter(now)) return "not valid yet; starts in " + in(now, notBefore);
        return "expires in " + in(now, notAfter);
    }

    private static String ago(Instant then, Instant now) {
        return days(Duration.between(then, now)) + " ago";
    }

    private static String in(Instant now, Instant then) {
        return days(Duration.between(now, then));
    }

    /** Whole days, rounded (a certificate made for 825 days expires "in 825 days"); hours under a day. */
    private static String days(Duration d) {
        long hours = d.toHours();
        if (hours < 24) return hours == 1 ? "1 hour" : hours > 1 ? hours + " hours" : "less than an hour";
        long days = (hours + 12) / 24;
        return days == 1 ? "1 day" : days + " days";
    }

    /** 64 lower-case hex digits to colon-separated upper-case pairs, as OpenSSL prints them. */
    static String colons(String hex) {
        byte[] bytes = HexFormat.of().parseHex(hex);
        return HexFormat.ofDelimiter(":").withUpperCase().formatHex(bytes);
    }

    /** --key-type values. */
    static final class KeyTypes implements ITypeConverter<Certificates.KeyType> {
        @Override public Certificates.KeyType convert(String value) {
            return switch (value.toLowerCase(Locale.ROOT)) {
                case "ec-p256" -> Certificates.KeyType.EC_P256;
                case "ec-p384" -> Certificates.KeyType.EC_P384;
                case "rsa-2048" -> Certificates.KeyType.RSA_2048;
                case "rsa-3072" -> Certificates.KeyType.RSA_3072;
                case "rsa-4096" -> Certificates.KeyType.RSA_4096;
                default -> throw new TypeConversionException("expected ec-p256, ec-p384, rsa-2048, rsa-3072 or "
                        + "rsa-4096, got \"" + value + "\"");
            };
        }
    }
}
