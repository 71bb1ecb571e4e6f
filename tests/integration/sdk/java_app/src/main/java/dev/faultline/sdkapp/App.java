package dev.faultline.sdkapp;

import io.sentry.Breadcrumb;
import io.sentry.Sentry;
import io.sentry.SentryLevel;
import io.sentry.protocol.User;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.util.Optional;

/**
 * A small checkout program instrumented with the official sentry-java SDK.
 *
 * <p>Usage: {@code java dev.faultline.sdkapp.App [DSN] MARKER}; without a DSN argument the
 * {@code SENTRY_DSN} environment variable is used. The marker makes the error messages unique
 * to one test run. A failed order surfaces as an IllegalStateException caused by an
 * IOException caused by a SocketTimeoutException, and is reported with a user, tags and
 * breadcrumbs before the SDK is flushed and closed.
 */
public final class App {
  private App() {}

  public static void main(String[] args) {
    String dsn = args.length > 1 ? args[0] : System.getenv("SENTRY_DSN");
    String marker = args.length > 0 ? args[args.length - 1] : "";
    if (dsn == null || dsn.isEmpty() || marker.isEmpty()) {
      System.err.println("usage: App [DSN] MARKER   (or set SENTRY_DSN)");
      System.exit(2);
    }
    Sentry.init(options -> {
      options.setDsn(dsn);
      options.setRelease("faultline-java-app@1.0.0");
      options.setEnvironment("sdk-matrix");
      options.setServerName("java-app-1");
      options.addInAppInclude("dev.faultline.sdkapp");
    });
    User user = new User();
    user.setId("java-user-7");
    user.setEmail("grace@example.com");
    user.setUsername("grace");
    Sentry.setUser(user);
    Sentry.setTag("sdk_matrix", "java");
    Sentry.setTag("checkout.step", "payment");

    Breadcrumb opened = new Breadcrumb("cart opened");
    opened.setCategory("ui.click");
    opened.setLevel(SentryLevel.INFO);
    opened.setData("cart_id", "c-42");
    Sentry.addBreadcrumb(opened);

    try {
      // Through a JDK method, so the trace also holds frames outside the in-app package.
      Optional.of(42).ifPresent(new CheckoutService(marker)::placeOrder);
    } catch (IllegalStateException e) {
      Sentry.captureException(e);
    }
    Sentry.flush(10_000);
    Sentry.close();
  }

  static final class CheckoutService {
    private final String marker;

    CheckoutService(String marker) {
      this.marker = marker;
    }

    void placeOrder(int orderId) {
      try {
        reserveStock(orderId);
      } catch (IOException e) {
        throw new IllegalStateException(
            "java-sdk checkout failed for order " + orderId + " " + marker, e);
      }
    }

    private void reserveStock(int orderId) throws IOException {
      Sentry.addBreadcrumb("reserving stock for order " + orderId, "inventory");
      try {
        readInventory();
      } catch (SocketTimeoutException e) {
        throw new IOException("java-sdk inventory service unreachable " + marker, e);
      }
    }

    private void readInventory() throws SocketTimeoutException {
      throw new SocketTimeoutException("java-sdk inventory read timed out " + marker);
    }
  }
}
