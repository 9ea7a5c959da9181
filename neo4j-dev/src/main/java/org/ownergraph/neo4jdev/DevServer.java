package org.ownergraph.neo4jdev;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import org.neo4j.configuration.GraphDatabaseInternalSettings;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.graphdb.GraphDatabaseService;
import org.neo4j.io.ByteUnit;
import org.neo4j.kernel.internal.Version;
import org.neo4j.server.configuration.ServerSettings;

/**
 * A real Neo4j 5.26 community server, embedded, with the Bolt connector on 127.0.0.1, APOC core
 * and OpenGDS procedures, and (optionally) Neo4j Browser served over HTTP.
 *
 * <p>Usage: {@code DevServer [DATA_DIR]} (default {@code neo4j-dev/run/data}). Environment:
 *
 * <ul>
 *   <li>{@code NEO4J_DEV_PORT}: Bolt port (default 7687)
 *   <li>{@code NEO4J_DEV_PASSWORD}: when set, auth is enabled and user {@code neo4j} gets this
 *       password (at least 8 characters); otherwise auth is disabled
 *   <li>{@code NEO4J_DEV_BROWSER_PORT}: HTTP port for Neo4j Browser (default 7474; {@code off}
 *       disables it)
 *   <li>{@code NEO4J_DEV_ASSETS_DIR}: folder served under {@code /ownergraph/} (the repo's {@code
 *       browser/} folder: .grass style and guide)
 *   <li>{@code NEO4J_DEV_PLUGIN_DIR}: folder with the procedure jars (default {@code
 *       neo4j-dev/target/lib/plugins})
 *   <li>{@code NEO4J_DEV_PAGECACHE}: page cache size, e.g. {@code 256m} (default 256m)
 * </ul>
 *
 * <p>Prints {@code NEO4J-DEV READY bolt://127.0.0.1:PORT} once Bolt accepts connections, and
 * shuts the database down cleanly on SIGTERM.
 */
public final class DevServer {
  private static final String HOST = "127.0.0.1";

  private DevServer() {}

  public static void main(String[] args) throws Exception {
    Path dataDir = Path.of(args.length > 0 ? args[0] : "neo4j-dev/run/data").toAbsolutePath();
    int boltPort = intEnv("NEO4J_DEV_PORT", 7687);
    String password = System.getenv("NEO4J_DEV_PASSWORD");
    boolean auth = password != null && !password.isEmpty();
    if (auth && password.length() < 8) {
      fail("NEO4J_DEV_PASSWORD must have at least 8 characters (Neo4j's minimum)");
    }
    String browserPortEnv = env("NEO4J_DEV_BROWSER_PORT", "7474");
    Path pluginDir = Path.of(env("NEO4J_DEV_PLUGIN_DIR", "neo4j-dev/target/lib/plugins"));
    String assetsEnv = System.getenv("NEO4J_DEV_ASSETS_DIR");
    long pageCache = parseBytes(env("NEO4J_DEV_PAGECACHE", "256m"));

    String pidFile = System.getenv("NEO4J_DEV_PIDFILE");
    if (pidFile != null && !pidFile.isEmpty()) {
      Files.writeString(Path.of(pidFile), ProcessHandle.current().pid() + "\n");
    }
    Path home = dataDir.getParent();
    Files.createDirectories(dataDir);
    if (!Files.isDirectory(pluginDir)) {
      fail("plugin dir not found: " + pluginDir.toAbsolutePath() + " (run `neo4j-dev build`)");
    }

    long t0 = System.nanoTime();
    DatabaseManagementService dbms;
    try {
      dbms =
          new DatabaseManagementServiceBuilder(home)
              .setConfig(GraphDatabaseSettings.data_directory, dataDir)
              .setConfig(GraphDatabaseSettings.plugin_dir, pluginDir.toAbsolutePath())
              .setConfig(GraphDatabaseSettings.procedure_unrestricted, List.of("apoc.*", "gds.*"))
              .setConfig(GraphDatabaseSettings.procedure_allowlist, List.of("*"))
              .setConfig(GraphDatabaseSettings.auth_enabled, auth)
              .setConfig(GraphDatabaseSettings.pagecache_memory, pageCache)
              .setConfig(BoltConnector.enabled, true)
              .setConfig(BoltConnector.listen_address, new SocketAddress(HOST, boltPort))
              .setConfig(BoltConnector.advertised_address, new SocketAddress(HOST, boltPort))
              // A dev server: stop Bolt at once instead of netty's 2 x 5 s quiet period.
              .setConfig(GraphDatabaseInternalSettings.netty_server_shutdown_quiet_period, 0)
              .setConfig(
                  GraphDatabaseInternalSettings.netty_server_shutdown_timeout,
                  Duration.ofSeconds(5))
              // Browser reads these through dbms.clientConfig(): allow :play/:style from
              // this server's own address, and send no telemetry (no outside network here).
              .setConfig(
                  ServerSettings.browser_remote_content_hostname_whitelist,
                  "guides.neo4j.com,localhost,127.0.0.1")
              .setConfig(ServerSettings.allow_telemetry, false)
              .setConfig(GraphDatabaseSettings.udc_enabled, false)
              .build();
    } catch (RuntimeException e) {
      e.printStackTrace();
      fail("could not start Neo4j (data dir " + dataDir + ", Bolt port " + boltPort + "): " + e);
      return;
    }

    CountDownLatch stopped = new CountDownLatch(1);
    BrowserServer[] browser = new BrowserServer[1];
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  System.out.println("NEO4J-DEV STOPPING");
                  if (browser[0] != null) {
                    browser[0].stop();
                  }
                  dbms.shutdown();
                  System.out.println("NEO4J-DEV STOPPED");
                  System.out.flush();
                  stopped.countDown();
                },
                "neo4j-dev-shutdown"));

    GraphDatabaseService db = dbms.database(GraphDatabaseSettings.DEFAULT_DATABASE_NAME);
    if (!db.isAvailable(Duration.ofMinutes(2).toMillis())) {
      fail("database 'neo4j' not available after 2 minutes");
    }
    if (auth) {
      setPassword(dbms, password);
    }
    waitForPort(boltPort, Duration.ofSeconds(60));

    String boltUrl = "bolt://" + HOST + ":" + boltPort;
    String browserInfo = "";
    if (!browserPortEnv.equalsIgnoreCase("off")) {
      int browserPort = Integer.parseInt(browserPortEnv);
      Path assets = assetsEnv == null || assetsEnv.isEmpty() ? null : Path.of(assetsEnv);
      try {
        browser[0] =
            BrowserServer.start(HOST, browserPort, boltUrl, Version.getNeo4jVersion(), assets, auth);
        browserInfo = " browser=http://" + HOST + ":" + browserPort + "/";
      } catch (IOException e) {
        System.out.println(
            "NEO4J-DEV WARNING Browser not served on port " + browserPort + ": " + e.getMessage());
      }
    }
    long ms = (System.nanoTime() - t0) / 1_000_000;
    System.out.println(
        "NEO4J-DEV READY "
            + boltUrl
            + " neo4j="
            + Version.getNeo4jVersion()
            + " auth="
            + (auth ? "on" : "off")
            + browserInfo
            + " startup_ms="
            + ms);
    System.out.flush();
    stopped.await();
  }

  /** Sets the password of user neo4j through the system database (the embedded API is trusted). */
  private static void setPassword(DatabaseManagementService dbms, String password) {
    GraphDatabaseService system = dbms.database(GraphDatabaseSettings.SYSTEM_DATABASE_NAME);
    try {
      system.executeTransactionally(
          "ALTER USER neo4j SET PASSWORD $pw CHANGE NOT REQUIRED", Map.of("pw", password));
    } catch (RuntimeException e) {
      // Restart on an existing data dir with the same password: nothing to change.
      String msg = String.valueOf(e.getMessage());
      if (!msg.contains("Old password and new password cannot be the same")) {
        throw e;
      }
    }
  }

  private static void waitForPort(int port, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress(HOST, port), 1000);
        return;
      } catch (IOException e) {
        Thread.sleep(100);
      }
    }
    fail("Bolt port " + port + " does not accept connections after " + timeout);
  }

  private static String env(String name, String dflt) {
    String v = System.getenv(name);
    return v == null || v.isEmpty() ? dflt : v;
  }

  private static int intEnv(String name, int dflt) {
    String v = env(name, String.valueOf(dflt));
    try {
      return Integer.parseInt(v.trim());
    } catch (NumberFormatException e) {
      fail(name + " must be a port number, got '" + v + "'");
      return -1;
    }
  }

  private static long parseBytes(String v) {
    String s = v.trim().toLowerCase();
    long mult = 1;
    if (s.endsWith("k")) {
      mult = ByteUnit.kibiBytes(1);
    } else if (s.endsWith("m")) {
      mult = ByteUnit.mebiBytes(1);
    } else if (s.endsWith("g")) {
      mult = ByteUnit.gibiBytes(1);
    }
    if (mult != 1) {
      s = s.substring(0, s.length() - 1);
    }
    try {
      return Long.parseLong(s) * mult;
    } catch (NumberFormatException e) {
      fail("NEO4J_DEV_PAGECACHE must look like 256m or 1g, got '" + v + "'");
      return -1;
    }
  }

  static void fail(String message) {
    System.out.println("NEO4J-DEV FAILED " + message);
    System.out.flush();
    System.exit(2);
  }
}
