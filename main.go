// Command edgejwt is a proxy-wasm HTTP filter that authenticates requests
// with JWTs. This file wires the proxy-wasm contexts to the plain-Go packages
// that do the work: config (parsed once), jwkscache (keys, shared data,
// fetch schedule) and authn (the decision on one request).
package main

import (
	"errors"
	"strconv"
	"time"

	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/edgejwt/edgejwt/authn"
	"github.com/edgejwt/edgejwt/config"
	"github.com/edgejwt/edgejwt/internal/wallclock"
	"github.com/edgejwt/edgejwt/verifier"
)

// tickPeriod paces the plugin's housekeeping: picking up key sets other VMs
// fetched, starting due fetches, and expiring held requests.
const tickPeriod = 200 * time.Millisecond

func main() {}

// testHook, nil in the shipped filter, lets a test-only build (crashtest.go)
// act on a request before it is decided.
var testHook func(headers [][2]string)

func init() { proxywasm.SetVMContext(&vmContext{}) }

type vmContext struct{ types.DefaultVMContext }

func (*vmContext) NewPluginContext(uint32) types.PluginContext {
	return &pluginContext{pending: map[uint32]pendingRequest{}}
}

type pluginContext struct {
	types.DefaultPluginContext
	cfg     *config.Config
	auth    *authn.Authenticator
	issuers []*issuerKeys
	pending map[uint32]pendingRequest // held requests, by HTTP context ID
	keysFn  authn.KeysFunc
	metrics *requestMetrics
	// lookAlikes is scratch space for the request path.
	lookAlikes []string
	// now is the time of the callback in progress: read once per callback
	// (in Wasm time.Now is a host call) and served to the verifiers, the
	// token cache and the key sets through clock.
	now time.Time
}

// clock is the time source of everything the plugin runs.
func (p *pluginContext) clock() time.Time { return p.now }

// pendingRequest is a request held until its issuer's keys arrive: the
// first key set, or a refetch asked for by a kid the key set lacks.
type pendingRequest struct {
	rule        int
	endOfStream bool // no body follows the headers
	deadline    time.Time
	// onTimeout answers the request if nothing arrives by the deadline:
	// 503 while there are no keys; the original 401 for an unknown kid.
	onTimeout authn.Decision
	// kidFinal: the refetch an unknown kid waits for was asked for after
	// the request arrived, so its answer is final (see RequestKIDRefetch).
	kidFinal bool
}

func (p *pluginContext) OnPluginStart(int) types.OnPluginStartStatus {
	if err := p.configure(); err != nil {
		proxywasm.LogCritical(err.Error())
		return types.OnPluginStartStatusFailed
	}
	if err := proxywasm.SetTickPeriodMilliSeconds(uint32(tickPeriod / time.Millisecond)); err != nil {
		proxywasm.LogCritical("setting the tick period: " + err.Error())
		return types.OnPluginStartStatusFailed
	}
	// The first fetch starts on the first tick, not here: Envoy also
	// configures throw-away VM instances (to validate the configuration)
	// that never tick, and one of them could take the fetch lease and die.
	return types.OnPluginStartStatusOK
}

func (p *pluginContext) configure() error {
	raw, err := proxywasm.GetPluginConfiguration()
	if err != nil && err != types.ErrorStatusNotFound {
		return err
	}
	cfg, err := config.Parse(raw)
	if err != nil {
		return err
	}
	opts := []authn.Option{authn.WithClock(p.clock)}
	if cfg.HostCrypto {
		opts = append(opts, authn.WithSignatureChecker(newHostSignatures().check))
	}
	auth, err := authn.New(cfg, opts...)
	if err != nil {
		return err
	}
	if err := senderConstraints(auth); err != nil {
		return err
	}
	owner := newOwnerID()
	p.cfg, p.auth = cfg, auth
	for i, r := range cfg.Rules {
		ik, err := newIssuerKeys(i, r, owner)
		if err != nil {
			return err
		}
		p.issuers = append(p.issuers, ik)
	}
	p.keysFn = p.keys
	p.metrics = newRequestMetrics()
	return nil
}

// keys is the authn.KeysFunc: nil while the issuer has no keys yet.
func (p *pluginContext) keys(rule int) verifier.KeySource {
	if ks := p.issuers[rule].source.Keys(p.now); ks != nil {
		return ks
	}
	return nil
}

func (p *pluginContext) OnTick() {
	p.now = wallclock.Now()
	now := p.now
	p.metrics.flush()
	for _, ik := range p.issuers {
		if ik.sync() {
			p.resume(ik.rule)
		}
		ik.maybeFetch(now, p.resume)
		ik.tick(now)
	}
	vmMemory.sample(now)
	for id, pr := range p.pending {
		if now.After(pr.deadline) {
			p.finish(id, pr.onTimeout)
		}
	}
}

// hold pauses a request until rule's keys change or the deadline passes.
func (p *pluginContext) hold(id uint32, rule int, endOfStream bool, onTimeout authn.Decision) bool {
	if len(p.pending) >= p.cfg.MaxPendingRequests {
		return false
	}
	p.pending[id] = pendingRequest{rule: rule, endOfStream: endOfStream, deadline: p.now.Add(p.cfg.PendingRequestTimeout), onTimeout: onTimeout}
	p.metrics.held++
	return true
}

// decide authenticates the current request and settles what to do when the
// keys are missing: hold the request (no key set yet, or a kid the key set
// lacks and a refetch is on its way) or refuse it. held is true when the
// request was held; otherwise d is to be applied.
func (p *pluginContext) decide(id uint32, headers [][2]string, endOfStream, again bool) (d authn.Decision, held bool) {
	d = p.auth.AuthenticateStream(headers, endOfStream, p.keysFn)
	now := p.now
	switch {
	case d.Outcome == authn.Wait:
		src := p.issuers[d.Rule].source
		if src.Loaded() && src.Stale(now) {
			return p.auth.KeysMissing(d), false
		}
		if !again && p.hold(id, d.Rule, endOfStream, p.auth.KeysMissing(d)) {
			return d, true
		}
		if !again {
			return p.auth.KeysMissing(d), false
		}
		// Still waiting, perhaps now for another issuer's keys (a
		// required_all rule): file it under that issuer until the deadline.
		if pr, ok := p.pending[id]; ok {
			pr.rule = d.Rule
			p.pending[id] = pr
		}
		return d, true
	case d.Rule >= 0 && errors.Is(d.Err, verifier.ErrUnknownKID):
		// A Deny, or an Allow without claims under allow_missing_or_failed.
		src := p.issuers[d.Rule].source
		if !again {
			wait, final := src.RequestKIDRefetch(now, p.kidMaxWait())
			if wait && p.hold(id, d.Rule, endOfStream, d) {
				pr := p.pending[id]
				pr.kidFinal = final
				p.pending[id] = pr
				return d, true
			}
			return d, false
		}
		// The refetch it waited for landed without its kid. One asked for
		// before the request arrived may have read the key set before the
		// key was published: wait for the next, within the deadline.
		if pr, ok := p.pending[id]; ok && !pr.kidFinal {
			if wait, final := src.RequestKIDRefetch(now, pr.deadline.Sub(now)-fetchAllowance); wait {
				pr.kidFinal = final
				p.pending[id] = pr
				return d, true
			}
		}
	}
	return d, false
}

// fetchAllowance is left of pendingRequestTimeout for the refetch itself
// when a request with an unknown kid waits for the next refetch slot.
const fetchAllowance = time.Second

// kidMaxWait is how long a request with an unknown kid may wait for the
// next refetch slot to open.
func (p *pluginContext) kidMaxWait() time.Duration {
	return max(p.cfg.PendingRequestTimeout-fetchAllowance, 0)
}

// resume decides again on every request held for rule's keys.
func (p *pluginContext) resume(rule int) {
	p.now = wallclock.Now() // called from ticks and from HTTP call responses
	for id, pr := range p.pending {
		if pr.rule != rule {
			continue
		}
		if err := proxywasm.SetEffectiveContext(id); err != nil {
			delete(p.pending, id)
			continue
		}
		headers, err := proxywasm.GetHttpRequestHeaders()
		if err != nil {
			delete(p.pending, id)
			continue
		}
		if d, held := p.decide(id, headers, pr.endOfStream, true); !held {
			p.finish(id, d)
		}
	}
}

// finish applies a decision to a held request and releases it.
func (p *pluginContext) finish(id uint32, d authn.Decision) {
	delete(p.pending, id)
	if err := proxywasm.SetEffectiveContext(id); err != nil {
		return
	}
	p.metrics.count(d)
	if p.apply(d, nil) {
		if err := proxywasm.ResumeHttpRequest(); err != nil {
			proxywasm.LogWarn("resuming a held request: " + err.Error())
		}
	}
}

func (p *pluginContext) NewHttpContext(id uint32) types.HttpContext {
	return &httpContext{id: id, plugin: p}
}

type httpContext struct {
	types.DefaultHttpContext
	id     uint32
	plugin *pluginContext
}

func (h *httpContext) OnHttpRequestHeaders(_ int, endOfStream bool) (action types.Action) {
	p := h.plugin
	defer func() {
		// Fail closed: a bug must never let a request through.
		if r := recover(); r != nil {
			proxywasm.LogError("panic while authenticating: " + panicText(r))
			p.apply(p.auth.Internal(), nil)
			action = types.ActionPause
		}
	}()
	p.now = wallclock.Now()
	vmMemory.served = true
	headers, err := proxywasm.GetHttpRequestHeaders()
	if err != nil {
		p.apply(p.auth.Internal(), nil)
		return types.ActionPause
	}
	if testHook != nil {
		testHook(headers)
	}
	d, held := p.decide(h.id, headers, endOfStream, false)
	if held {
		return types.ActionPause
	}
	p.metrics.count(d)
	if p.apply(d, headers) {
		return types.ActionContinue
	}
	return types.ActionPause
}

func (h *httpContext) OnHttpStreamDone() { delete(h.plugin.pending, h.id) }

// apply carries out an Allow or Deny decision on the current HTTP context and
// reports whether the request may continue. headers are the request's (nil:
// read them when needed). An Allow removes the output headers a client sent
// and their look-alikes (x_jwt_sub for x-jwt-sub), whatever the rule, and
// makes the decision's changes: one host call for one change, else one
// call that sets all the headers at once. A change it cannot make fails
// the request closed (500).
func (p *pluginContext) apply(d authn.Decision, headers [][2]string) bool {
	if d.Outcome == authn.Allow {
		if headers == nil {
			var err error
			if headers, err = proxywasm.GetHttpRequestHeaders(); err != nil {
				proxywasm.LogError("reading the request headers: " + err.Error())
				d = p.auth.Internal()
			}
		}
	}
	if d.Outcome == authn.Allow {
		if err := p.rewrite(&d, headers); err != nil {
			proxywasm.LogError("changing the request headers: " + err.Error())
			d = p.auth.Internal()
		}
	}
	if d.Outcome == authn.Allow {
		// Envoy keeps the value as filter state "wasm.<name>", for later
		// filters and access logs.
		for _, kv := range d.FilterState {
			if err := proxywasm.SetProperty([]string{kv[0]}, []byte(kv[1])); err != nil {
				proxywasm.LogError("setting filter state " + kv[0] + ": " + err.Error())
				d = p.auth.Internal()
				break
			}
		}
	}
	if d.Outcome == authn.Allow {
		return true
	}
	r := d.Response
	if err := proxywasm.SendHttpResponse(r.Status, r.Headers, r.Body, -1); err != nil {
		proxywasm.LogError("sending a " + strconv.Itoa(int(r.Status)) + ": " + err.Error())
	}
	return false
}

// rewrite makes an Allow's header changes, one host call each. Measured
// in Envoy 1.40 (instructions per request under callgrind, a cached token
// with three output headers): one proxy_set_header_map_pairs of the whole
// rewritten map costs 9% more than four remove/replace calls, in Envoy
// (which clears and rebuilds the map) and in the filter (which serializes
// it). See docs/performance.md.
func (p *pluginContext) rewrite(d *authn.Decision, headers [][2]string) error {
	drop := p.auth.LookAlikes(headers, p.lookAlikes[:0])
	p.lookAlikes = drop
	for _, h := range drop {
		if err := proxywasm.RemoveHttpRequestHeader(h); err != nil {
			return err
		}
	}
	for _, h := range d.Remove {
		if err := proxywasm.RemoveHttpRequestHeader(h); err != nil {
			return err
		}
	}
	for _, kv := range d.Set {
		if err := proxywasm.ReplaceHttpRequestHeader(kv[0], kv[1]); err != nil {
			return err
		}
	}
	return nil
}

// panicText describes a recovered panic value for the log.
func panicText(r any) string {
	switch v := r.(type) {
	case error:
		return v.Error()
	case string:
		return v
	}
	return "a panic value that is neither an error nor a string"
}
