package org.ownergraph.neo4jdev;

import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Static HTTP server for Neo4j Browser (the {@code browser/} folder of the neo4j-browser jar on
 * the classpath), the discovery document Browser asks for at {@code /}, and the repo's own
 * {@code browser/} folder under {@code /ownergraph/} (.grass style, guide). Every response
 * carries {@code Access-Control-Allow-Origin: *}.
 */
final class BrowserServer {
  private static final String APP_PREFIX = "browser/";
  private static final String ASSETS_PREFIX = "/ownergraph/";
  private static final Map<String, String> TYPES =
      Map.ofEntries(
          Map.entry("html", "text/html; charset=utf-8"),
          Map.entry("js", "application/javascript; charset=utf-8"),
          Map.entry("mjs", "application/javascript; charset=utf-8"),
          Map.entry("css", "text/css; charset=utf-8"),
          Map.entry("json", "application/json; charset=utf-8"),
          Map.entry("map", "application/json; charset=utf-8"),
          Map.entry("svg", "image/svg+xml"),
          Map.entry("png", "image/png"),
          Map.entry("jpg", "image/jpeg"),
          Map.entry("gif", "image/gif"),
          Map.entry("ico", "image/x-icon"),
          Map.entry("woff", "font/woff"),
          Map.entry("woff2", "font/woff2"),
          Map.entry("ttf", "font/ttf"),
          Map.entry("eot", "application/vnd.ms-fontobject"),
          Map.entry("txt", "text/plain; charset=utf-8"),
          Map.entry("grass", "text/plain; charset=utf-8"),
          Map.entry("cypher", "text/plain; charset=utf-8"),
          Map.entry("md", "text/plain; charset=utf-8"));

  private final HttpServer server;
  private final ExecutorService pool;

  private BrowserServer(HttpServer server, ExecutorService pool) {
    this.server = server;
    this.pool = pool;
  }

  static BrowserServer start(
      String host, int port, String boltUrl, String neo4jVersion, Path assetsDir, boolean auth)
      throws IOException {
    if (BrowserServer.class.getClassLoader().getResource(APP_PREFIX + "index.html") == null) {
      throw new IOException("neo4j-browser jar not on the classpath (browser/index.html missing)");
    }
    HttpServer server = HttpServer.create(new InetSocketAddress(host, port), 64);
    ExecutorService pool = Executors.newFixedThreadPool(4);
    String discovery =
        "{\"bolt_direct\":\""
            + boltUrl
            + "\",\"bolt_routing\":\""
            + boltUrl.replace("bolt://", "neo4j://")
            + "\",\"neo4j_version\":\""
            + neo4jVersion
            + "\",\"neo4j_edition\":\"community\""
            + ",\"auth_config\":{\"oidc_providers\":[]}}";
    server.createContext(
        "/",
        exchange -> {
          try (exchange) {
            handle(exchange, discovery, assetsDir);
          } catch (RuntimeException e) {
            System.out.println("NEO4J-DEV WARNING browser request failed: " + e);
          }
        });
    server.setExecutor(pool);
    server.start();
    return new BrowserServer(server, pool);
  }

  void stop() {
    server.stop(0);
    pool.shutdownNow();
  }

  private static void handle(HttpExchange ex, String discovery, Path assetsDir)
      throws IOException {
    Headers out = ex.getResponseHeaders();
    out.set("Access-Control-Allow-Origin", "*");
    out.set("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS");
    out.set("Access-Control-Allow-Headers", "*");
    String method = ex.getRequestMethod().toUpperCase(Locale.ROOT);
    if (method.equals("OPTIONS")) {
      ex.sendResponseHeaders(204, -1);
      return;
    }
    if (!method.equals("GET") && !method.equals("HEAD")) {
      sendText(ex, 405, "method not allowed");
      return;
    }
    String path = URI.create(ex.getRequestURI().getRawPath()).normalize().getPath();
    if (path == null || path.contains("..")) {
      sendText(ex, 400, "bad path");
      return;
    }
    String accept = ex.getRequestHeaders().getFirst("Accept");
    if (path.equals("/") && accept != null && accept.contains("application/json")) {
      send(ex, 200, "application/json; charset=utf-8", discovery.getBytes(StandardCharsets.UTF_8));
      return;
    }
    if (path.startsWith(ASSETS_PREFIX)) {
      serveAsset(ex, assetsDir, path.substring(ASSETS_PREFIX.length()));
      return;
    }
    String rel = path.startsWith("/browser/") ? path.substring("/browser/".length()) : path;
    rel = rel.startsWith("/") ? rel.substring(1) : rel;
    if (rel.isEmpty() || rel.equals("browser")) {
      rel = "index.html";
    }
    try (InputStream in =
        BrowserServer.class.getClassLoader().getResourceAsStream(APP_PREFIX + rel)) {
      if (in == null) {
        sendText(ex, 404, "not found: " + path);
        return;
      }
      send(ex, 200, typeOf(rel), in.readAllBytes());
    }
  }

  private static void serveAsset(HttpExchange ex, Path assetsDir, String rel) throws IOException {
    if (assetsDir == null) {
      sendText(ex, 404, "no assets dir configured (NEO4J_DEV_ASSETS_DIR)");
      return;
    }
    Path root = assetsDir.toAbsolutePath().normalize();
    Path file = root.resolve(rel.isEmpty() ? "index.html" : rel).normalize();
    if (!file.startsWith(root) || !Files.isRegularFile(file)) {
      sendText(ex, 404, "not found: " + ASSETS_PREFIX + rel);
      return;
    }
    ex.getResponseHeaders().set("Cache-Control", "no-cache");
    send(ex, 200, typeOf(file.getFileName().toString()), Files.readAllBytes(file));
  }

  private static String typeOf(String name) {
    int dot = name.lastIndexOf('.');
    String ext = dot < 0 ? "" : name.substring(dot + 1).toLowerCase(Locale.ROOT);
    return TYPES.getOrDefault(ext, "application/octet-stream");
  }

  private static void sendText(HttpExchange ex, int status, String text) throws IOException {
    send(ex, status, "text/plain; charset=utf-8", (text + "\n").getBytes(StandardCharsets.UTF_8));
  }

  private static void send(HttpExchange ex, int status, String type, byte[] body)
      throws IOException {
    ex.getResponseHeaders().set("Content-Type", type);
    boolean head = ex.getRequestMethod().equalsIgnoreCase("HEAD");
    ex.sendResponseHeaders(status, head ? -1 : body.length);
    if (!head) {
      try (OutputStream os = ex.getResponseBody()) {
        os.write(body);
      }
    }
  }
}
