package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/edgejwt/edgejwt/config"
	"github.com/edgejwt/edgejwt/jwkscache"
)

// sharedData is jwkscache.Store over proxy-wasm shared data.
type sharedData struct{}

func (sharedData) Get(key string) ([]byte, uint32, bool, error) {
	v, cas, err := proxywasm.GetSharedData(key)
	if err == types.ErrorStatusNotFound {
		return nil, 0, false, nil
	}
	return v, cas, err == nil, err
}

func (sharedData) Set(key string, value []byte, cas uint32) error {
	err := proxywasm.SetSharedData(key, value, cas)
	if err == types.ErrorStatusCasMismatch {
		return jwkscache.ErrCASMismatch
	}
	return err
}

// newOwnerID names this VM in fetch leases.
func newOwnerID() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generating a VM id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// issuerKeys is one rule's key source and the HTTP callout that feeds it.
type issuerKeys struct {
	rule    int
	cfg     config.Rule
	source  *jwkscache.Source
	headers [][2]string // of the JWKS request, built once (nil until discovered)
	jwksURI string
	cluster string
	// discoveryURI is <issuer>/.well-known/openid-configuration with
	// oidcDiscovery, else empty.
	discoveryURI string
	failing      bool // the last fetch failed (logged once per change)
	stale        bool // the key set is past jwksMaxStale (logged once per change)
	metrics      issuerMetrics
}

func newIssuerKeys(rule int, r config.Rule, owner string) (*issuerKeys, error) {
	ik := &issuerKeys{rule: rule, cfg: r, metrics: newIssuerMetrics(r.Issuer)}
	if r.JWKS != "" {
		keys, skipped, err := jwkscache.Parse([]byte(r.JWKS))
		logSkipped(r.Issuer, skipped)
		if err != nil {
			return nil, &config.Error{Field: fmt.Sprintf("jwtRules[%d].jwks", rule), Msg: err.Error()}
		}
		ik.source = jwkscache.NewStaticSource(keys)
		return ik, nil
	}
	ik.jwksURI, ik.cluster = r.JWKSURI, r.JWKSCluster
	if r.OIDCDiscovery {
		ik.discoveryURI = strings.TrimSuffix(r.Issuer, "/") + jwkscache.DiscoveryPath
		if ik.cluster == "" {
			ik.cluster = config.IstioClusterName(r.Issuer)
		}
	} else {
		var err error
		if ik.headers, err = getHeaders(r.JWKSURI); err != nil {
			return nil, &config.Error{Field: fmt.Sprintf("jwtRules[%d].jwksUri", rule), Msg: err.Error()}
		}
	}
	ik.source = jwkscache.NewSource(sharedData{}, r.Issuer, owner, policy(r), mrand.Float64)
	return ik, nil
}

// policy is a rule's fetch schedule.
func policy(r config.Rule) jwkscache.Policy {
	return jwkscache.Policy{
		RefreshInterval:           r.RefreshInterval,
		MinRefreshInterval:        r.MinRefreshInterval,
		MaxRefreshInterval:        r.MaxRefreshInterval,
		RetryInterval:             r.RetryInterval,
		MaxRetryInterval:          r.MaxRetryInterval,
		MaxStale:                  r.MaxStale,
		UnknownKIDRefetchInterval: r.UnknownKIDRefetch,
		FetchTimeout:              r.Timeout,
	}
}

// sync picks up an entry another VM stored; true when there was one (held
// requests are then decided again).
func (ik *issuerKeys) sync() bool {
	updated, _, _, err := ik.source.Sync()
	if err != nil {
		proxywasm.LogDebugf("issuer %s: reading shared keys: %v", ik.cfg.Issuer, err)
	}
	return updated
}

// getHeaders are the headers of a GET of uri through DispatchHttpCall.
func getHeaders(uri string) ([][2]string, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return nil, err
	}
	return [][2]string{
		{":method", "GET"},
		{":scheme", u.Scheme},
		{":authority", u.Host},
		{":path", u.RequestURI()},
		{"accept", "application/json"},
	}, nil
}

// maybeFetch starts a JWKS fetch when one is due and this VM won the lease
// (with oidcDiscovery, first the provider configuration, once per VM).
// loaded is called after this VM stored a new key set.
func (ik *issuerKeys) maybeFetch(now time.Time, loaded func(rule int)) {
	if !ik.source.StartFetch(now) {
		return
	}
	if ik.headers == nil {
		ik.discover(now, loaded)
		return
	}
	ik.get(now, ik.cluster, ik.headers, jwkscache.MaxJWKSSize, func(body []byte, cacheControl string) {
		ik.onJWKS(body, cacheControl, loaded)
	})
}

// discover fetches <issuer>/.well-known/openid-configuration, then the JWKS
// it names.
func (ik *issuerKeys) discover(now time.Time, loaded func(rule int)) {
	headers, err := getHeaders(ik.discoveryURI)
	if err != nil {
		ik.failed(now, err.Error())
		return
	}
	ik.get(now, ik.cluster, headers, jwkscache.MaxDiscoverySize, func(body []byte, _ string) {
		now := time.Now()
		uri, err := jwkscache.ParseDiscovery(body, ik.cfg.Issuer)
		if err == nil {
			ik.headers, err = getHeaders(uri)
		}
		if err != nil {
			ik.failed(now, ik.discoveryURI+": "+err.Error())
			return
		}
		ik.jwksURI = uri
		if ik.cfg.JWKSCluster == "" {
			ik.cluster = config.IstioClusterName(uri)
		}
		proxywasm.LogInfof("issuer %s: discovered jwks_uri %s (cluster %s)", ik.cfg.Issuer, uri, ik.cluster)
		ik.get(now, ik.cluster, ik.headers, jwkscache.MaxJWKSSize, func(body []byte, cacheControl string) {
			ik.onJWKS(body, cacheControl, loaded)
		})
	})
}

// get sends a GET through cluster and hands a 200's body, at most limit
// bytes, to done; anything else is a failed fetch.
func (ik *issuerKeys) get(now time.Time, cluster string, headers [][2]string, limit int, done func(body []byte, cacheControl string)) {
	timeout := uint32(ik.cfg.Timeout / time.Millisecond)
	_, err := proxywasm.DispatchHttpCall(cluster, headers, nil, nil, timeout, func(_, bodySize, _ int) {
		now := time.Now()
		status, cacheControl := "", ""
		if hs, err := proxywasm.GetHttpCallResponseHeaders(); err == nil {
			for _, h := range hs {
				switch h[0] {
				case ":status":
					status = h[1]
				case "cache-control":
					cacheControl = h[1]
				}
			}
		}
		switch {
		case status == "":
			ik.failed(now, "no response (connection failure or timeout)")
			return
		case status != "200":
			ik.failed(now, "HTTP status "+status)
			return
		case bodySize > limit:
			ik.failed(now, "body of "+strconv.Itoa(bodySize)+" bytes, over the limit")
			return
		}
		body, err := proxywasm.GetHttpCallResponseBody(0, bodySize)
		if err != nil && bodySize > 0 {
			ik.failed(now, "reading the body: "+err.Error())
			return
		}
		done(body, cacheControl)
	})
	if err != nil {
		ik.failed(now, fmt.Sprintf("cannot call cluster %q: %v", cluster, err))
	}
}

func (ik *issuerKeys) onJWKS(body []byte, cacheControl string, loaded func(rule int)) {
	now := time.Now()
	docChanged, skipped, err := ik.source.FetchSucceeded(now, body, cacheControl)
	logSkipped(ik.cfg.Issuer, skipped)
	switch {
	case errors.Is(err, jwkscache.ErrNotShared):
		proxywasm.LogWarnf("issuer %s: %v", ik.cfg.Issuer, err)
	case err != nil:
		ik.failed(now, err.Error())
		return
	}
	ik.metrics.fetchOK.Increment(1)
	ik.metrics.keys.Record(uint64(ik.source.Keys(now).Len()))
	switch {
	case docChanged:
		proxywasm.LogInfof("issuer %s: loaded %d keys from %s", ik.cfg.Issuer, ik.source.Keys(now).Len(), ik.jwksURI)
	case ik.failing:
		proxywasm.LogInfof("issuer %s: %s answers again", ik.cfg.Issuer, ik.jwksURI)
	}
	ik.failing = false
	loaded(ik.rule)
}

func (ik *issuerKeys) failed(now time.Time, why string) {
	retry := ik.source.FetchFailed(now)
	ik.metrics.fetchFailed.Increment(1)
	if !ik.failing {
		proxywasm.LogWarnf("issuer %s: fetching %s failed: %s; keeping the last good keys (if any) and retrying with backoff",
			ik.cfg.Issuer, ik.jwksURI, why)
	} else {
		proxywasm.LogDebugf("issuer %s: fetch failed again: %s; next try in %v", ik.cfg.Issuer, why, retry)
	}
	ik.failing = true
}

// tick keeps the age gauge current and logs entering and leaving the
// stale state once each.
func (ik *issuerKeys) tick(now time.Time) {
	if !ik.source.Loaded() {
		return
	}
	ik.metrics.age.Record(uint64(now.Sub(ik.source.FetchedAt()) / time.Second))
	stale := ik.source.Stale(now)
	if stale && !ik.stale {
		proxywasm.LogWarnf("issuer %s: key set older than jwksMaxStale (%v): refusing requests with 503 until a fetch succeeds",
			ik.cfg.Issuer, ik.cfg.MaxStale)
	}
	ik.stale = stale
}

func logSkipped(issuer string, skipped []jwkscache.Skipped) {
	for _, s := range skipped {
		proxywasm.LogWarnf("issuer %s: key skipped: %v", issuer, s)
	}
}
