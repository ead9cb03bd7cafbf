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
//	edgejwt.allowed                       requests let through (request counters reach the host every tick)
//	edgejwt.denied.<reason>               401s by reason (no_token, token_expired, ...), 503s (signing_keys_not_available),
//	                                      403s (insufficient_scope, claim_mismatch: a request rule's conditions unmet)
//	edgejwt.passed_unverified.<reason>    requests let through by allow_missing_or_failed despite a failed token
//	                                      (or a valid one that did not meet the rule's conditions)
//	edgejwt.held                          requests paused to wait for keys
//	edgejwt.token_cache_hit               allowed requests whose token was verified before (cache)
//	edgejwt.host_crypto_verify            signatures checked by Envoy's verify_signature (hostCrypto)
//	edgejwt.jwks.<issuer>.fetch_success   JWKS fetches that loaded keys
//	edgejwt.jwks.<issuer>.fetch_failed    JWKS fetches that failed
//	edgejwt.jwks.<issuer>.keys_unsafe     keys refused as never to be trusted (leaked private key, ROCA, ...)
//	edgejwt.jwks.<issuer>.fetch_empty     fetches that loaded a key set with no usable key (revocation)
//	edgejwt.jwks.<issuer>.keys            gauge: usable keys in the last fetched set
//	edgejwt.jwks.<issuer>.age_seconds     gauge: age of the key set in use
//	edgejwt.vm_memory_bytes               gauge: Go runtime memory of a VM (each VM that serves requests sets it; they are alike)
//
// A metric the host refuses to define is left out (a zero Counter or Gauge
// updates metric 0 at worst); metrics never fail a request.
//
// The request counters are counted in the VM and added to the host's on
// every tick (200 ms): a host call per counter per request is a Wasm
// crossing each, and the counts are no less right for arriving in batches.
type requestMetrics struct {
	allowed, held, cacheHits uint64
	allowedC, heldC, hitsC   hostmetrics.Counter
	reasons                  map[reasonKey]*pendingCount // defined on first use
}

// reasonKey names a reason counter without building its name: the lookup
// on the request path allocates nothing.
type reasonKey struct {
	passed bool   // passed_unverified, else denied
	reason string // authn.Reason's fixed text
}

type pendingCount struct {
	c hostmetrics.Counter
	n uint64
}

func newRequestMetrics() *requestMetrics {
	return &requestMetrics{
		allowedC: counter("edgejwt.allowed"),
		heldC:    counter("edgejwt.held"),
		hitsC:    counter("edgejwt.token_cache_hit"),
		reasons:  map[reasonKey]*pendingCount{},
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
		m.allowed++
		if d.FromCache {
			m.cacheHits++
		}
		if d.Err != nil {
			// Let through by allow_missing_or_failed: counted as what
			// it would have been refused for (report-only use).
			m.reason(true, d.Err).n++
		}
		return
	}
	m.reason(false, d.Err).n++
}

// reason is the pending count of edgejwt.denied.<reason> or
// edgejwt.passed_unverified.<reason>, defined on first use.
func (m *requestMetrics) reason(passed bool, err error) *pendingCount {
	k := reasonKey{passed: passed, reason: authn.Reason(err)}
	pc, ok := m.reasons[k]
	if !ok {
		prefix := "edgejwt.denied."
		if passed {
			prefix = "edgejwt.passed_unverified."
		}
		pc = &pendingCount{c: counter(prefix + statName(k.reason))}
		m.reasons[k] = pc
	}
	return pc
}

// flush adds the counts since the last flush to the host's counters.
func (m *requestMetrics) flush() {
	for _, c := range []struct {
		n *uint64
		c hostmetrics.Counter
	}{{&m.allowed, m.allowedC}, {&m.held, m.heldC}, {&m.cacheHits, m.hitsC}} {
		if *c.n > 0 {
			c.c.Add(*c.n)
			*c.n = 0
		}
	}
	for _, pc := range m.reasons {
		if pc.n > 0 {
			pc.c.Add(pc.n)
			pc.n = 0
		}
	}
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
// memory, which never shrinks) as edgejwt.vm_memory_bytes. Every VM that
// serves requests sets the gauge to its own figure: the workers' VMs run
// the same code on the same kind of traffic, and a gauge each VM sets stays
// true when VMs come and go (a sum would need every VM to take its share
// back when it ends, which a crashed VM never does). The VM on Envoy's main
// thread only ticks and fetches keys; were it to set the gauge too, readings
// would alternate between its figure and a worker's. The soak test watches
// the gauge level off.
type memoryGauge struct {
	g       hostmetrics.Gauge
	defined bool
	next    time.Time
	sample1 []metrics.Sample
	// served is set by the first request this VM handles.
	served bool
}

const memorySamplePeriod = 5 * time.Second

func (m *memoryGauge) sample(now time.Time) {
	if !m.served || now.Before(m.next) {
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
