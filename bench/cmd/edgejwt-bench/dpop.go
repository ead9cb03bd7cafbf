package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/edgejwt/edgejwt/internal/devservers"
	"github.com/edgejwt/edgejwt/internal/dpopclient"
)

// dpopTokens are the tokens of (p) and (p2): bound to one DPoP key (the
// client's), as the repeated and fresh workloads of the other setups, plus a
// forged one for the checks.
type dpopTokens struct {
	client   *dpopclient.Client
	repeated string
	forged   string
	fresh    []string
	runs     int // files made, for their names
}

func hasDPoP(specs []setupSpec) bool {
	for _, s := range specs {
		if s.DPoP {
			return true
		}
	}
	return false
}

// mintDPoPTokens mints the bound tokens, on every CPU.
func (b *bench) mintDPoPTokens() error {
	c, err := dpopclient.New()
	if err != nil {
		return err
	}
	d := &dpopTokens{client: c, fresh: make([]string, b.freshTokens)}
	claims := func(sub string) devservers.Claims {
		cl := b.issuer.StandardClaims(sub, audience, tokenTTL)
		cl["roles"] = []string{"admin", "reader"}
		cl["jti"] = sub + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
		cl["cnf"] = map[string]string{"jkt": c.JKT}
		return cl
	}
	if d.repeated, err = b.issuer.Mint(claims(repeatedSub)); err != nil {
		return err
	}
	if d.forged, err = b.issuer.Mint(claims(repeatedSub), devservers.WithOutsiderKey()); err != nil {
		return err
	}
	t0 := time.Now()
	logf("minting %d fresh DPoP-bound RS256 tokens", b.freshTokens)
	err = parallel(len(d.fresh), func(i int) error {
		var err error
		d.fresh[i], err = b.issuer.Mint(claims(fmt.Sprintf("dpop-user-%07d", i)))
		return err
	})
	if err != nil {
		return err
	}
	logf("minted in %v", time.Since(t0).Round(100*time.Millisecond))
	b.dpop = d
	return nil
}

// dpopFile writes a file for bench.lua of b.freshTokens lines "token proof",
// each proof new (a jti of its own, iat now) for GET url: the same token on
// every line for the repeated workload, the fresh tokens for the fresh one.
// Proofs are made just before each run, so that they are within the
// filter's time window (60 s by default) when sent.
func (b *bench) dpopFile(url, wl string) (string, error) {
	d := b.dpop
	lines := make([]string, b.freshTokens)
	t0 := time.Now()
	err := parallel(len(lines), func(i int) error {
		tok := d.repeated
		if wl == wlFresh {
			tok = d.fresh[i]
		}
		p, err := d.client.Proof(http.MethodGet, url, tok, "", nil)
		lines[i] = tok + " " + p
		return err
	})
	if err != nil {
		return "", err
	}
	d.runs++
	path := filepath.Join(b.tmp, "dpop-"+strconv.Itoa(d.runs)+".tokens")
	logf("made %d DPoP proofs in %v", len(lines), time.Since(t0).Round(100*time.Millisecond))
	return path, os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600)
}

// parallel runs fn(0..n-1) on every CPU and returns the first error.
func parallel(n int, fn func(i int) error) error {
	workers := runtime.NumCPU()
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		go func(w int) {
			for i := w; i < n; i += workers {
				if err := fn(i); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}(w)
	}
	var first error
	for w := 0; w < workers; w++ {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// authorizeDPoP sets req's DPoP headers for token with a new proof.
func (b *bench) authorizeDPoP(req *http.Request, token string) error {
	p, err := b.dpop.client.Proof(req.Method, req.URL.String(), token, "", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "DPoP "+token)
	req.Header.Set("DPoP", p)
	return nil
}
