package main

import (
	"runtime/metrics"
	"strings"
	"time"

	"github.com/edgejwt/edgejwt/authn"
	"github.com/edgejwt/edgejwt/internal/hostmetrics"
)

// Metrics, visible in Envoy's /stats (Envoy files them under "wasmcustom.").
// Every VM defines the same names, so the counters add up over workers.
//
//	edgejwt.allowed                       requests let through
//	edgejwt.denied.<reason>               401s by reason (no_token, token_expired, ...), 503s (signing_keys_not_available)
//	edgejwt.passed_unverified.<reason>    requests let through by allow_missing_or_failed despite a failed token
//	edgejwt.held                          requests paused to wait for keys
//	edgejwt.token_cache_hit               allowed requests whose token was verified before (cache)
//	edgejwt.host_crypto_verify            signatures checked by Envoy's verify_signature (hostCrypto)
//	edgejwt.jwks.<issuer>.fetch_success   JWKS fetches that loaded keys
//	edgejwt.jwks.<issuer>.fetch_failed    JWKS fetches that failed
//	edgejwt.jwks.<issuer>.keys_unsafe     keys refused as never to be trusted (leaked private key, ROCA, ...)
//	edgejwt.jwks.<issuer>.fetch_empty     fetches that loaded a key set with no usable key (revocation)
//	edgejwt.jwks.<issuer>.keys            gauge: usable keys in the last fetched set
//	edgejwt.jwks.<issuer>.age_seconds     gauge: age of the key set in use
//	edgejwt.vm_memory_bytes               gauge: Go runtime memory of a VM (each VM sets it; they are alike)
//
// A metric the host refuses to define is left out (a zero Counter or Gauge
// updates metric 0 at worst); metrics never fail a request.
type requestMetrics struct {
	allowed   hostmetrics.Counter
	held      hostmetrics.Counter
	cacheHits hostmetrics.Counter
	denied    map[string]hostmetrics.Counter // by metric name, defined on first use
}

func newRequestMetrics() *requestMetrics {
	return &requestMetrics{
		allowed:   counter("edgejwt.allowed"),
		held:      counter("edgejwt.held"),
		cacheHits: counter("edgejwt.token_cache_hit"),
		denied:    map[string]hostmetrics.Counter{},
	}
}

func counter(name string) hostmetrics.Counter {
	c, _ := hostmetrics.DefineCounter(name)
	return c
}

func gauge(name string) hostmetrics.Gauge {
	g, _ := hostmetrics.DefineGauge(name)
	return g
}

// count records the outcome of a decision that was applied.
func (m *requestMetrics) count(d authn.Decision) {
	if d.Outcome == authn.Allow {
		m.allowed.Add(1)
		if d.FromCache {
			m.cacheHits.Add(1)
		}
		if d.Err != nil {
			// Let through by allow_missing_or_failed: counted as what
			// it would have been refused for (report-only use).
			m.reason("edgejwt.passed_unverified.", d.Err).Add(1)
		}
		return
	}
	m.reason("edgejwt.denied.", d.Err).Add(1)
}

// reason is the counter prefix+<reason of err>, defined on first use.
func (m *requestMetrics) reason(prefix string, err error) hostmetrics.Counter {
	name := prefix + statName(authn.Reason(err))
	c, ok := m.denied[name]
	if !ok {
		c = counter(name)
		m.denied[name] = c
	}
	return c
}

type issuerMetrics struct {
	fetchOK     hostmetrics.Counter
	fetchFailed hostmetrics.Counter
	keysUnsafe  hostmetrics.Counter
	fetchEmpty  hostmetrics.Counter
	// keys and age are the same for every VM (they share the key set),
	// so each VM sets them.
	keys hostmetrics.Gauge
	age  hostmetrics.Gauge
}

func newIssuerMetrics(issuer string) issuerMetrics {
	p := "edgejwt.jwks." + statName(issuer) + "."
	return issuerMetrics{
		fetchOK:     counter(p + "fetch_success"),
		fetchFailed: counter(p + "fetch_failed"),
		keysUnsafe:  counter(p + "keys_unsafe"),
		fetchEmpty:  counter(p + "fetch_empty"),
		keys:        gauge(p + "keys"),
		age:         gauge(p + "age_seconds"),
	}
}

// statName turns an issuer URL or a reason into one stat-name segment.
func statName(s string) string {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "https://"), "http://")
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			b[i] = '_'
		}
	}
	return string(b)
}

// vmMemory is this VM's memory gauge: one per VM, whatever the number of
// plugin contexts (filter configurations) in it, so that configuration
// pushes, which add and retire plugin contexts, leave the figure alone.
var vmMemory memoryGauge

// memoryGauge reports the Go runtime's memory (in a Wasm VM: its linear
// memory, which never shrinks) as edgejwt.vm_memory_bytes. Every VM sets
// the gauge to its own figure: the VMs of one Envoy run the same code on
// the same kind of traffic, and a gauge each VM sets stays true when VMs
// come and go (a sum would need every VM to take its share back when it
// ends, which a crashed VM never does). The soak test watches it level off.
type memoryGauge struct {
	g       hostmetrics.Gauge
	defined bool
	next    time.Time
	sample1 []metrics.Sample
}

const memorySamplePeriod = 5 * time.Second

func (m *memoryGauge) sample(now time.Time) {
	if now.Before(m.next) {
		return
	}
	m.next = now.Add(memorySamplePeriod)
	if !m.defined {
		m.g = gauge("edgejwt.vm_memory_bytes")
		m.sample1 = []metrics.Sample{{Name: "/memory/classes/total:bytes"}}
		m.defined = true
	}
	metrics.Read(m.sample1)
	if m.sample1[0].Value.Kind() != metrics.KindUint64 {
		return
	}
	m.g.Set(m.sample1[0].Value.Uint64())
}
