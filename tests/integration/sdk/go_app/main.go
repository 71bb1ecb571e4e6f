// A small Go service instrumented with the real, unchanged sentry-go SDK.
//
// Usage: go_app DSN RUN_ID
//
// It reports a wrapped error with sentry.CaptureException, then serves one real HTTP
// request through the sentryhttp middleware to a handler that panics, so the panic is
// reported together with the request. RUN_ID makes the errors unique to one test run.
package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/getsentry/sentry-go"
	sentryhttp "github.com/getsentry/sentry-go/http"
)

// ErrCardDeclined is the root cause that the reported error wraps.
var ErrCardDeclined = errors.New("card declined by issuer")

// StockError is what the checkout handler panics with.
type StockError struct {
	SKU   string
	RunID string
}

func (e *StockError) Error() string {
	return fmt.Sprintf("go out of stock %s for sku %s", e.RunID, e.SKU)
}

func chargeCard(orderID string) error {
	return fmt.Errorf("charge card for order %s: %w", orderID, ErrCardDeclined)
}

func placeOrder(runID string) error {
	if err := chargeCard("ord-" + runID); err != nil {
		return fmt.Errorf("go place order %s: %w", runID, err)
	}
	return nil
}

func reserveStock(sku string, runID string) {
	panic(&StockError{SKU: sku, RunID: runID})
}

func checkoutHandler(runID string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if hub := sentry.GetHubFromContext(r.Context()); hub != nil {
			hub.AddBreadcrumb(&sentry.Breadcrumb{
				Category: "checkout", Message: "reserving stock", Level: sentry.LevelInfo,
			}, nil)
		}
		// The middleware records the body as the handler reads it.
		if _, err := io.ReadAll(r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		reserveStock(r.URL.Query().Get("sku"), runID)
	}
}

func serveOnePanickingRequest(runID string) error {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	middleware := sentryhttp.New(sentryhttp.Options{Repanic: false})
	mux := http.NewServeMux()
	mux.Handle("/checkout", middleware.Handle(checkoutHandler(runID)))
	server := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = server.Serve(listener) }()
	defer server.Close()

	url := fmt.Sprintf("http://%s/checkout?sku=sku-42&qty=3", listener.Addr())
	req, err := http.NewRequest(http.MethodPost, url,
		bytes.NewBufferString(`{"cart_id":42,"coupon":"WELCOME"}`))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "faultline-go-test/1.0")
	req.Header.Set("X-Request-Id", "req-"+runID)
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	return resp.Body.Close()
}

func main() {
	if len(os.Args) != 3 {
		log.Fatal("usage: go_app DSN RUN_ID")
	}
	dsn, runID := os.Args[1], os.Args[2]
	err := sentry.Init(sentry.ClientOptions{
		Dsn: dsn, Release: "go-shop@2.0.0", Environment: "ci", ServerName: "go-web-1",
		// Lets the HTTP middleware attach the request body, as most services configure it.
		SendDefaultPII: true,
	})
	if err != nil {
		log.Fatalf("sentry.Init: %v", err)
	}
	sentry.ConfigureScope(func(scope *sentry.Scope) {
		scope.SetUser(sentry.User{ID: "u-go-7", Email: "gopher@example.com"})
		scope.SetTag("payment.provider", "acme-pay")
	})
	sentry.AddBreadcrumb(&sentry.Breadcrumb{
		Category: "cart", Message: "cart loaded", Level: sentry.LevelInfo,
	})

	sentry.CaptureException(placeOrder(runID))
	if err := serveOnePanickingRequest(runID); err != nil {
		log.Fatalf("request: %v", err)
	}
	if !sentry.Flush(5 * time.Second) {
		log.Fatal("sentry.Flush timed out")
	}
}
