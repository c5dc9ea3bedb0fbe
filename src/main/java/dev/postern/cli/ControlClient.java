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
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(socket));
            ch.write(StandardCharsets.UTF_8.encode(request + "\n"));
            String answer = new BufferedReader(new InputStreamReader(Channels.newInputStream(ch),
                    StandardCharsets.UTF_8)).readLine();
            if (answer == null) throw new CliException("postern: the gateway closed the control socket", 1);
            if (answer.startsWith("ok ")) return answer.substring(3);
            throw new CliException("postern: " + answer.replaceFirst("^error ", ""), 1);
        } catch (IOException e) {
            throw new CliException("postern: a gateway holds " + socket.getParent() + " but its control socket "
                    + socket + " does not answer: " + e.getMessage(), 1);
        }
    }
}
