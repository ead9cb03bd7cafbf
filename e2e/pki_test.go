package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/edgejwt/edgejwt/internal/devservers"
)

// testPKI is a CA, a server certificate for 127.0.0.1 and two client
// certificates, all made for one test.
type testPKI struct {
	listener        *mtlsListener
	pool            *x509.CertPool
	alice, mallory  tls.Certificate
	aliceThumbprint string // base64url SHA-256 of alice's certificate: cnf["x5t#S256"]
}

// mtlsListener is the TLS listener of an Envoy that requires client
// certificates.
type mtlsListener struct {
	Port                      int
	CertFile, KeyFile, CAFile string
}

func newTestPKI(t *testing.T, dir string) *testPKI {
	t.Helper()
	key := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	caKey := key()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "edgejwt e2e CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	issue := func(serial int64, cn string, usage x509.ExtKeyUsage, ip bool) (tls.Certificate, []byte, *ecdsa.PrivateKey) {
		k := key()
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		}
		if ip {
			tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k}, der, k
	}
	p := &testPKI{pool: x509.NewCertPool()}
	p.pool.AddCert(ca)
	_, serverDER, serverKey := issue(2, "127.0.0.1", x509.ExtKeyUsageServerAuth, true)
	var aliceDER []byte
	p.alice, aliceDER, _ = issue(3, "alice", x509.ExtKeyUsageClientAuth, false)
	p.mallory, _, _ = issue(4, "mallory", x509.ExtKeyUsageClientAuth, false)
	sum := sha256.Sum256(aliceDER)
	p.aliceThumbprint = base64.RawURLEncoding.EncodeToString(sum[:])

	keyDER, err := x509.MarshalPKCS8PrivateKey(serverKey)
	if err != nil {
		t.Fatal(err)
	}
	l := &mtlsListener{CertFile: filepath.Join(dir, "server.pem"), KeyFile: filepath.Join(dir, "server-key.pem"), CAFile: filepath.Join(dir, "ca.pem")}
	for file, block := range map[string]*pem.Block{
		l.CertFile: {Type: "CERTIFICATE", Bytes: serverDER},
		l.KeyFile:  {Type: "PRIVATE KEY", Bytes: keyDER},
		l.CAFile:   {Type: "CERTIFICATE", Bytes: caDER},
	} {
		if err := os.WriteFile(file, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if l.Port, err = devservers.FreePort(); err != nil {
		t.Fatal(err)
	}
	p.listener = l
	return p
}

// client is an HTTPS client that presents cert (none when nil).
func (p *testPKI) client(cert *tls.Certificate) *http.Client {
	cfg := &tls.Config{RootCAs: p.pool, MinVersion: tls.VersionTLS12}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	return &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg, DisableKeepAlives: true}}
}
