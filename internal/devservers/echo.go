package devservers

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// TestIDHeader is the request header Echo.ByTestID looks requests up by. A
// test sets a fresh value on each request it sends through Envoy, then asks
// the upstream whether that request arrived.
const TestIDHeader = "X-Test-Id"

// Request is what Echo saw of one request.
type Request struct {
	Method string      `json:"method"`
	Path   string      `json:"path"` // with the query, as sent
	Host   string      `json:"host"`
	Header http.Header `json:"headers"` // canonical names, every value
}

// Echo is an upstream HTTP server on 127.0.0.1: it answers every request
// with 200 and a JSON rendering of the Request, and records it.
type Echo struct {
	addr string
	srv  *http.Server

	mu   sync.Mutex
	reqs []Request
}

// StartEcho listens on 127.0.0.1:port (0 picks a free port) and serves.
func StartEcho(port int) (*Echo, error) {
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return nil, fmt.Errorf("echo: %w", err)
	}
	e := &Echo{addr: ln.Addr().String()}
	e.srv = &http.Server{Handler: http.HandlerFunc(e.serve), ReadHeaderTimeout: 10 * time.Second}
	go e.srv.Serve(ln) //nolint:errcheck // returns ErrServerClosed on Close
	return e, nil
}

func (e *Echo) serve(w http.ResponseWriter, r *http.Request) {
	req := Request{Method: r.Method, Path: r.URL.RequestURI(), Host: r.Host, Header: r.Header.Clone()}
	e.mu.Lock()
	e.reqs = append(e.reqs, req)
	e.mu.Unlock()
	body, err := json.MarshalIndent(req, "", "  ")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(append(body, '\n'))
}

// Addr is 127.0.0.1:port.
func (e *Echo) Addr() string { return e.addr }

// Port is the TCP port Echo listens on.
func (e *Echo) Port() int { return portOf(e.addr) }

// URL is http://127.0.0.1:port.
func (e *Echo) URL() string { return "http://" + e.addr }

// Requests returns a copy of every request received so far, in order.
func (e *Echo) Requests() []Request {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Request(nil), e.reqs...)
}

// ByTestID returns the requests that carried TestIDHeader: id.
func (e *Echo) ByTestID(id string) []Request {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Request
	for _, r := range e.reqs {
		for _, v := range r.Header.Values(TestIDHeader) {
			if strings.TrimSpace(v) == id {
				out = append(out, r)
				break
			}
		}
	}
	return out
}

// Close stops the server.
func (e *Echo) Close() { _ = e.srv.Close() }
