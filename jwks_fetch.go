package main

import (
	"errors"
	mrand "math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/edgejwt/edgejwt/config"
	"github.com/edgejwt/edgejwt/internal/httpuri"
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

// newOwnerID names this VM in fetch leases. It only has to differ between
// the VMs of one Envoy: math/rand/v2's generator is seeded by the runtime
// from the host's random_get, and crypto/rand (with the FIPS DRBG and AES
// behind it) would add 100 KB to the module for nothing.
func newOwnerID() string {
	return strconv.FormatUint(mrand.Uint64(), 16)
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
		ik.logSkipped(skipped)
		if err != nil {
			return nil, &config.Error{Field: "jwtRules[" + strconv.Itoa(rule) + "].jwks", Msg: err.Error()}
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
			return nil, &config.Error{Field: "jwtRules[" + strconv.Itoa(rule) + "].jwksUri", Msg: err.Error()}
		}
	}
	ik.source = jwkscache.NewSource(sharedData{}, r.Issuer, origin(r), owner, policy(r), mrand.Float64)
	return ik, nil
}

// origin names where a rule's keys come from, for jwkscache: two rules (or
// two configurations) share a key set only when this is the same.
func origin(r config.Rule) string {
	if r.OIDCDiscovery {
		return "discovery " + r.Issuer + " cluster " + r.JWKSCluster
	}
	return "jwks " + r.JWKSURI + " cluster " + r.JWKSCluster
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
	updated, _, _, err := ik.source.Sync(time.Now())
	if err != nil {
		proxywasm.LogDebug("issuer " + ik.cfg.Issuer + ": reading shared keys: " + err.Error())
	}
	return updated
}

// getHeaders are the headers of a GET of uri through DispatchHttpCall.
func getHeaders(uri string) ([][2]string, error) {
	u, err := httpuri.Parse(uri)
	if err != nil {
		return nil, err
	}
	return [][2]string{
		{":method", "GET"},
		{":scheme", u.Scheme},
		{":authority", u.Host},
		{":path", u.RequestURI},
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
		proxywasm.LogInfo("issuer " + ik.cfg.Issuer + ": discovered jwks_uri " + uri + " (cluster " + ik.cluster + ")")
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
		ik.failed(now, "cannot call cluster "+strconv.Quote(cluster)+": "+err.Error())
	}
}

func (ik *issuerKeys) onJWKS(body []byte, cacheControl string, loaded func(rule int)) {
	now := time.Now()
	docChanged, skipped, err := ik.source.FetchSucceeded(now, body, cacheControl)
	ik.logSkipped(skipped)
	switch {
	case errors.Is(err, jwkscache.ErrNotShared):
		proxywasm.LogWarn("issuer " + ik.cfg.Issuer + ": " + err.Error())
	case err != nil:
		ik.failed(now, err.Error())
		return
	}
	ik.metrics.fetchOK.Add(1)
	n := ik.source.Keys(now).Len()
	ik.metrics.keys.Set(uint64(n))
	switch {
	case n == 0:
		ik.metrics.fetchEmpty.Add(1)
		if docChanged {
			proxywasm.LogCritical("issuer " + ik.cfg.Issuer + ": " + ik.jwksURI + " holds no usable key: the issuer has withdrawn its keys, " +
				"and every token of this issuer is refused until it publishes one")
		}
	case docChanged:
		proxywasm.LogInfo("issuer " + ik.cfg.Issuer + ": loaded " + strconv.Itoa(ik.source.Keys(now).Len()) + " keys from " + ik.jwksURI)
	case ik.failing:
		proxywasm.LogInfo("issuer " + ik.cfg.Issuer + ": " + ik.jwksURI + " answers again")
	}
	ik.failing = false
	loaded(ik.rule)
}

func (ik *issuerKeys) failed(now time.Time, why string) {
	retry := ik.source.FetchFailed(now)
	ik.metrics.fetchFailed.Add(1)
	if !ik.failing {
		proxywasm.LogWarn("issuer " + ik.cfg.Issuer + ": fetching " + ik.jwksURI + " failed: " + why +
			"; keeping the last good keys (if any) and retrying with backoff")
	} else {
		proxywasm.LogDebug("issuer " + ik.cfg.Issuer + ": fetch failed again: " + why + "; next try in " + retry.String())
	}
	ik.failing = true
}

// tick keeps the age gauge current and logs entering and leaving the
// stale state once each.
func (ik *issuerKeys) tick(now time.Time) {
	if !ik.source.Loaded() {
		return
	}
	ik.metrics.age.Set(uint64(now.Sub(ik.source.FetchedAt()) / time.Second))
	stale := ik.source.Stale(now)
	if stale && !ik.stale {
		proxywasm.LogWarn("issuer " + ik.cfg.Issuer + ": key set older than jwksMaxStale (" + ik.cfg.MaxStale.String() +
			"): refusing requests with 503 until a fetch succeeds")
	}
	ik.stale = stale
}

// logSkipped reports the keys of a new document that were left out. A key
// that must never be trusted (a published private key, a factorable
// modulus, a small-order point) is a critical log line and counted: the
// issuer's key management is broken, whatever else its key set holds.
func (ik *issuerKeys) logSkipped(skipped []jwkscache.Skipped) {
	for _, s := range skipped {
		if s.Unsafe {
			ik.metrics.keysUnsafe.Add(1)
			proxywasm.LogCritical("issuer " + ik.cfg.Issuer + ": key REFUSED, it must never be trusted: " + s.String())
			continue
		}
		proxywasm.LogWarn("issuer " + ik.cfg.Issuer + ": key skipped: " + s.String())
	}
}
