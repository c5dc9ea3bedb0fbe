package dev.postern.testkit;

import java.net.Socket;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * A test server's trust manager that lists one CA in its certificate request and accepts any chain (the test looks
 * at what it got): a partner whose list does not name our issuer.
 */
public final class ListsOnlyTrustManager extends X509ExtendedTrustManager {
    private final X509Certificate ca;

    public ListsOnlyTrustManager(X509Certificate ca) { this.ca = ca; }

    @Override public X509Certificate[] getAcceptedIssuers() { return new X509Certificate[] {ca}; }
    @Override public void checkClientTrusted(X509Certificate[] chain, String authType) {}
    @Override public void checkServerTrusted(X509Certificate[] chain, String authType) {}
    @Override public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) {}
    @Override public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) {}
    @Override public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {}
    @Override public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {}
}
