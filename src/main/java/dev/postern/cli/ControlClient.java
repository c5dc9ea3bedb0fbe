package dev.postern.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/** The CLI's side of the running gateway's control socket ({@link ControlServer}): one request, one answer. */
final class ControlClient {
    private ControlClient() {}

    /** Sends {@code request} and returns the text of an "ok" answer; an "error" answer becomes a CliException. */
    static String ask(Path socket, String request) throws CliException {
        String answer = askAll(socket, request).getFirst();
        if (answer.startsWith("ok ")) return answer.substring(3);
        throw new CliException("postern: " + answer.replaceFirst("^error ", ""), 1);
    }

    /** Sends {@code request} and returns every line of the answer (the first is "ok ..." or "error ..."). */
    static java.util.List<String> askAll(Path socket, String request) throws CliException {
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(socket));
            ch.write(StandardCharsets.UTF_8.encode(request + "\n"));
            java.util.List<String> lines = new BufferedReader(new InputStreamReader(Channels.newInputStream(ch),
                    StandardCharsets.UTF_8)).lines().toList();
            if (lines.isEmpty()) throw new CliException("postern: the gateway closed the control socket", 1);
            return lines;
        } catch (IOException | java.io.UncheckedIOException e) {
            throw new CliException("postern: a gateway holds " + socket.getParent() + " but its control socket "
                    + socket + " does not answer: " + e.getMessage(), 1);
        }
    }
}
