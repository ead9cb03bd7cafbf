package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/edgejwt/edgejwt/internal/devservers"
)

// mintTokens makes the repeated token, the forged token of the checks and
// the fresh tokens, on every CPU (before anything is measured).
func (b *bench) mintTokens() error {
	claims := func(sub string) devservers.Claims {
		c := b.issuer.StandardClaims(sub, audience, tokenTTL)
		c["roles"] = []string{"admin", "reader"}
		c["jti"] = sub + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
		return c
	}
	var err error
	if b.repeatedToken, err = b.issuer.Mint(claims(repeatedSub)); err != nil {
		return err
	}
	if b.forgedToken, err = b.issuer.Mint(claims(repeatedSub), devservers.WithOutsiderKey()); err != nil {
		return err
	}
	b.repeatedFile = filepath.Join(b.tmp, "repeated.tokens")
	if err := os.WriteFile(b.repeatedFile, []byte(b.repeatedToken+"\n"), 0o600); err != nil {
		return err
	}

	t0 := time.Now()
	logf("minting %d fresh RS256 tokens", b.freshTokens)
	toks := make([]string, b.freshTokens)
	workers := runtime.NumCPU()
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		go func(w int) {
			for i := w; i < len(toks); i += workers {
				t, err := b.issuer.Mint(claims(fmt.Sprintf("user-%07d", i)))
				if err != nil {
					errs <- err
					return
				}
				toks[i] = t
			}
			errs <- nil
		}(w)
	}
	for w := 0; w < workers; w++ {
		if err := <-errs; err != nil {
			return err
		}
	}
	logf("minted in %v", time.Since(t0).Round(100*time.Millisecond))
	b.freshFile = filepath.Join(b.tmp, "fresh.tokens")
	return os.WriteFile(b.freshFile, []byte(strings.Join(toks, "\n")+"\n"), 0o600)
}
