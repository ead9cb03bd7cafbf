// Package envoyadmin is what the e2e suite, the demo and the benchmark
// need of Envoy's admin API: waiting until Envoy serves, reading /stats, and
// asking it to quit.
package envoyadmin

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ErrExited is returned by AwaitReady when Envoy exits before it is ready.
var ErrExited = errors.New("envoy exited before it was ready")

// Get fetches url and returns the body of a 200.
func Get(c *http.Client, url string) (string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return string(b), fmt.Errorf("%s: %s", url, resp.Status)
	}
	return string(b), nil
}

// Ready reports whether the Envoy of admin (http://host:port) is LIVE and,
// when listener (host:port) is not empty, has bound that listener.
func Ready(c *http.Client, admin, listener string) bool {
	body, err := Get(c, admin+"/ready")
	if err != nil || strings.TrimSpace(body) != "LIVE" {
		return false
	}
	if listener == "" {
		return true
	}
	body, err = Get(c, admin+"/listeners")
	return err == nil && strings.Contains(body, listener)
}

// AwaitReady polls Ready until it holds, exited is closed (ErrExited) or
// timeout passes.
func AwaitReady(admin, listener string, timeout time.Duration, exited <-chan struct{}) error {
	deadline := time.Now().Add(timeout)
	c := &http.Client{Timeout: time.Second}
	for {
		select {
		case <-exited:
			return ErrExited
		default:
		}
		if Ready(c, admin, listener) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("envoy not ready after %v", timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Quit asks Envoy to exit cleanly (which also releases its shared memory).
func Quit(admin string) {
	resp, err := (&http.Client{Timeout: 2 * time.Second}).Post(admin+"/quitquitquit", "text/plain", nil)
	if err == nil {
		resp.Body.Close()
	}
}

// Stats reads the numeric stats (counters and gauges; histograms are left
// out) of admin /stats whose names match the regular expression filter
// ("" for all); typ, when set, is /stats's type (Counters, Gauges).
func Stats(c *http.Client, admin, filter, typ string) (map[string]int64, error) {
	q := url.Values{}
	if filter != "" {
		q.Set("filter", filter)
	}
	if typ != "" {
		q.Set("type", typ)
	}
	u := strings.TrimRight(admin, "/") + "/stats"
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	body, err := Get(c, u)
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, line := range strings.Split(body, "\n") {
		name, val, ok := strings.Cut(line, ": ")
		if !ok {
			continue
		}
		if n, err := strconv.ParseInt(strings.TrimSpace(val), 10, 64); err == nil {
			out[name] = n
		}
	}
	return out, nil
}
