package dev.postern.cli;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/**
 * Standard output for documents a program reads (TOML, JSON): UTF-8 whatever the locale, as both formats require. A
 * PrintStream encodes text in the locale's charset, so under LANG=C "Bücher GmbH" would come out "B?cher GmbH" and
 * load back as another name; its raw bytes are written as they are.
 */
final class Utf8Out {
    private Utf8Out() {}

    static void print(String document) {
        byte[] bytes = document.getBytes(StandardCharsets.UTF_8);
        PrintStream out = System.out;
        out.write(bytes, 0, bytes.length);
        out.flush();
    }
}
