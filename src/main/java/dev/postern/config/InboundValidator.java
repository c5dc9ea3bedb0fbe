package dev.postern.config;

import com.fasterxml.jackson.databind.JsonNode;
import dev.postern.config.Config.ClientCertificates;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Function;

/** Validates the inbound TLS keys of {@code [[listeners]]}, {@code [[partners]]} and {@code [[relay_clients]]}. */
final class InboundValidator {
    private static final String PATTERN = "a name pattern like gw.partner.example, *.partner.example or .partner.example";
    private static final String NETWORK = "a network like 192.0.2.0/24, 2001:db8::/32 or a single IP address";

    private final Function<String, Path> readableFile;

    InboundValidator(Function<String, Path> readableFile) {
        this.readableFile = readableFile;
    }

    /** The TLS keys of one [[listeners]] table (the caller checks address and role and calls finish). */
    Config.ListenerTls listenerTls(Table t) {
        boolean requireTls = t.bool("require_tls", false);
        ClientCertificates clientCertificate = t.string("client_certificate", ClientCertificates.NONE,
                "none, request or require", InboundValidator::clientCertificates);
        Path clientCaFile = t.string("client_ca_file", null, "a file path", readableFile);
        String minProtocol = t.string("min_protocol", "TLSv1.2", "TLSv1.2 or TLSv1.3", PolicyValidator::protocol);
        Set<String> supported = PolicyValidator.supportedSuites();
        List<String> ciphers = t.list("ciphers", List.of(), "an array of cipher suite names",
                "a cipher suite name like TLS_AES_256_GCM_SHA384", s -> PolicyValidator.suite(s, supported));
        int minCipherBits = t.integer("min_cipher_bits", 0, 0, 256);
        return new Config.ListenerTls(requireTls, clientCertificate, clientCaFile, minProtocol, ciphers, minCipherBits);
    }

    Config.Inbound inbound(Table top, Problems problems) {
        List<Config.Partner> partners = new ArrayList<>();
        for (Table t : tables(top, "partners", problems)) {
            String name = t.required("name", "a name for this partner, like \"partner.example\"", s -> s);
            List<String> senderDomains = t.list("sender_domains", List.of(), "an array of domains",
                    "a domain like partner.example", Syntax::domain);
            List<Config.Network> networks = t.list("networks", List.of(), "an array of networks", NETWORK,
                    Config.Network::parse);
            List<String> clientNames = t.list("client_names", List.of(), "an array of name patterns", PATTERN,
                    PolicyValidator::pattern);
            boolean requireTls = t.bool("require_tls", true);
            boolean requireCert = t.bool("require_client_certificate", false);
            Path caFile = t.string("ca_file", null, "a file path", readableFile);
            String minProtocol = t.string("min_protocol", "TLSv1.2", "TLSv1.2 or TLSv1.3", PolicyValidator::protocol);
            int minCipherBits = t.integer("min_cipher_bits", 0, 0, 256);
            if (senderDomains.isEmpty() && networks.isEmpty() && clientNames.isEmpty()) {
                t.problem("sender_domains", "expected at least one of sender_domains, networks or client_names to "
                        + "recognise this partner by, got none");
            }
            t.finish();
            if (name != null) {
                partners.add(new Config.Partner(name, senderDomains, networks, clientNames, requireTls, requireCert,
                        caFile, minProtocol, minCipherBits));
            }
        }
        List<Config.RelayClient> relayClients = new ArrayList<>();
        for (Table t : tables(top, "relay_clients", problems)) {
            List<String> fingerprints = t.list("fingerprints", List.of(), "an array of SHA-256 fingerprints",
                    "a SHA-256 fingerprint of 64 hex digits (colons allowed)", PolicyValidator::fingerprint);
            Path caFile = t.string("ca_file", null, "a file path", readableFile);
            List<String> names = t.list("names", List.of(), "an array of name patterns", PATTERN,
                    PolicyValidator::pattern);
            if (fingerprints.isEmpty() && (caFile == null || names.isEmpty()) && !t.has("fingerprints")
                    && !(t.has("ca_file") && t.has("names"))) {
                t.problem("fingerprints", "expected fingerprints, or ca_file together with names, got neither");
            }
            t.finish();
            relayClients.add(new Config.RelayClient(fingerprints, caFile, names));
        }
        return new Config.Inbound(partners, relayClients);
    }

    /** The elements of an array of tables like [[partners]], each as a Table named "partners[i]". */
    private static List<Table> tables(Table top, String name, Problems problems) {
        JsonNode v = top.raw(name);
        if (v == null) return List.of();
        if (!v.isArray()) {
            top.wrong(name, "an array of tables [[" + name + "]]", v);
            return List.of();
        }
        List<Table> out = new ArrayList<>();
        for (int i = 0; i < v.size(); i++) {
            JsonNode e = v.get(i);
            String at = top.key(name) + "[" + i + "]";
            if (!e.isObject()) {
                problems.add(at, "expected a table, got " + Table.render(e));
                continue;
            }
            out.add(new Table(e, at, problems));
        }
        return out;
    }

    private static ClientCertificates clientCertificates(String s) {
        return switch (s) {
            case "none" -> ClientCertificates.NONE;
            case "request" -> ClientCertificates.REQUEST;
            case "require" -> ClientCertificates.REQUIRE;
            default -> throw Syntax.invalid("none, request or require", s);
        };
    }
}
