package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/quic-go/quic-go/http3"

	"github.com/edgejwt/edgejwt/internal/devservers"
)

// h3Listener is the HTTP/3 listener of an Envoy: a UDP port and the
// server certificate and key files.
type h3Listener struct {
	Port              int
	CertFile, KeyFile string
	pool              *x509.CertPool // trusts the certificate, for the client
}

// newH3Listener writes a server certificate for 127.0.0.1 (testPKI's) in
// dir and picks a free UDP port.
func newH3Listener(t *testing.T, dir string) *h3Listener {
	t.Helper()
	pki := newTestPKI(t, dir)
	l := &h3Listener{CertFile: pki.listener.CertFile, KeyFile: pki.listener.KeyFile, pool: pki.pool}
	var err error
	if l.Port, err = devservers.FreePort(); err != nil {
		t.Fatal(err)
	}
	return l
}

// TestHTTP3: the filter behind Envoy's HTTP/3 (QUIC) listener, with a
// quic-go client: a valid token passes with its claims and without the
// token, no token and a forged token are refused and never forwarded.
func TestHTTP3(t *testing.T) {
	t.Parallel()
	h3 := newH3Listener(t, t.TempDir())
	s := newStackWith(t, stackOptions{}, func(c *envoyConfig) { c.H3 = h3 })
	tr := &http3.Transport{TLSClientConfig: &tls.Config{RootCAs: h3.pool, MinVersion: tls.VersionTLS13}}
	t.Cleanup(func() { tr.Close() })
	client := &http.Client{Transport: tr, Timeout: 20 * time.Second}
	send := func(t *testing.T, header http.Header) (answer, error) {
		id := fmt.Sprintf("%s#%d", t.Name(), requestIDs.Add(1))
		req, err := http.NewRequest("GET", fmt.Sprintf("https://127.0.0.1:%d/resource?q=1", h3.Port), nil)
		if err != nil {
			return answer{id: id}, err
		}
		for k, v := range header {
			req.Header[k] = v
		}
		req.Header.Set(devservers.TestIDHeader, id)
		// Envoy's QUIC listener may take a moment after /ready to answer.
		var resp *http.Response
		for i := 0; ; i++ {
			if resp, err = client.Do(req); err == nil || i == 20 {
				break
			}
			time.Sleep(250 * time.Millisecond)
		}
		if err != nil {
			return answer{id: id}, err
		}
		defer resp.Body.Close()
		if resp.ProtoMajor != 3 {
			return answer{id: id}, fmt.Errorf("answered over %s, want HTTP/3", resp.Proto)
		}
		body, err := io.ReadAll(resp.Body)
		return answer{id: id, status: resp.StatusCode, header: resp.Header, body: body}, err
	}
	t.Run("valid token", func(t *testing.T) {
		c := s.validClaims()
		a, err := send(t, bearer(s.issuer.MustMint(c)))
		if err != nil {
			t.Fatal(err)
		}
		up := s.expectAllowed(t, a)
		expectVerifiedHeaders(t, up, c)
		if v := up.Header.Values("Authorization"); len(v) != 0 {
			t.Errorf("upstream got Authorization %q", v)
		}
	})
	t.Run("no token", func(t *testing.T) {
		a, err := send(t, nil)
		if err != nil {
			t.Fatal(err)
		}
		s.expectNoToken(t, a)
	})
	t.Run("forged token", func(t *testing.T) {
		forged, err := s.issuer.Mint(s.validClaims(), devservers.WithOutsiderKey())
		if err != nil {
			t.Fatal(err)
		}
		a, err := send(t, bearer(forged))
		if err != nil {
			t.Fatal(err)
		}
		s.expectInvalid(t, a, "no matching signing key", "invalid signature")
	})
}
