package dev.postern.tls;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;

/** Runs one real TLS handshake over loopback: a hardened Postern server against a client the test shapes. */
final class Handshakes {
    private Handshakes() {}

    /** Turns a connected plaintext socket into the client's TLS socket. */
    interface ClientSide {
        SSLSocket wrap(Socket plain) throws IOException;
    }

    /** Turns an accepted plaintext socket into the server's TLS socket. */
    interface ServerSide {
        SSLSocket wrap(Socket plain) throws IOException;
    }

    /** What each side saw; exactly one of facts and failure is set per side. */
    record Outcome(TlsFacts client, Throwable clientFailure, TlsFacts server, Throwable serverFailure) {}

    static ServerSide postern(SSLContext context) {
        return plain -> TlsContexts.wrapServer(context, plain);
    }

    /** Handshakes, then echoes one byte each way so both sides have finished before facts are taken. */
    static Outcome run(ServerSide serverSide, ClientSide clientSide) throws Exception {
        try (ServerSocket listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            CompletableFuture<TlsFacts> server = new CompletableFuture<>();
            Thread.ofVirtual().name("tls-test-server").start(() -> {
                try (Socket plain = listener.accept(); SSLSocket tls = serverSide.wrap(plain)) {
                    tls.setSoTimeout(10_000);
                    tls.startHandshake();
                    int b = tls.getInputStream().read();
                    tls.getOutputStream().write(b);
                    tls.getOutputStream().flush();
                    server.complete(TlsFacts.of(tls.getSession()));
                } catch (Throwable e) {
                    server.completeExceptionally(e);
                }
            });
            TlsFacts clientFacts = null;
            Throwable clientFailure = null;
            try (Socket plain = new Socket(listener.getInetAddress(), listener.getLocalPort());
                 SSLSocket tls = clientSide.wrap(plain)) {
                tls.setSoTimeout(10_000);
                tls.startHandshake();
                tls.getOutputStream().write('x');
                tls.getOutputStream().flush();
                if (tls.getInputStream().read() != 'x') throw new IOException("echo lost");
                clientFacts = TlsFacts.of(tls.getSession());
            } catch (IOException e) {
                clientFailure = e;
            }
            try {
                return new Outcome(clientFacts, clientFailure, server.get(15, TimeUnit.SECONDS), null);
            } catch (java.util.concurrent.ExecutionException e) {
                return new Outcome(clientFacts, clientFailure, null, e.getCause());
            }
        }
    }
}
