package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

const bindingRule = `{"issuer":"https://issuer.example","jwksUri":"https://issuer.example/jwks"`

func parseRule0(t *testing.T, extra string) (Rule, error) {
	t.Helper()
	cfg, err := Parse([]byte(`{"jwtRules":[` + bindingRule + extra + `}]}`))
	if err != nil {
		return Rule{}, err
	}
	return cfg.Rules[0], nil
}

func TestParseSenderConstraints(t *testing.T) {
	r, err := parseRule0(t, `,"dpop":{"mode":"required","algorithms":["ES256","EdDSA"],"maxAge":"30s","clockSkew":"2s",
	  "origins":["https://API.example.com:443","http://10.0.0.1:8080/"],"requireNonce":true,"nonceLifetime":"1m","replayCacheSize":4096},
	  "mtls":{"mode":"required"}`)
	if err != nil {
		t.Fatal(err)
	}
	want := DPoP{Mode: DPoPRequired, Algorithms: []string{"ES256", "EdDSA"}, MaxAge: 30 * time.Second, ClockSkew: 2 * time.Second,
		Origins: []string{"https://api.example.com", "http://10.0.0.1:8080"}, RequireNonce: true, NonceLifetime: time.Minute, ReplayCacheSize: 4096}
	if !reflect.DeepEqual(r.DPoP, want) || !r.MTLS.Required {
		t.Errorf("dpop %+v mtls %+v;\nwant %+v", r.DPoP, r.MTLS, want)
	}
	// Defaults: without the objects, DPoP is disabled and certificate
	// binding only checked when a token has it.
	r, err = parseRule0(t, ``)
	if err != nil {
		t.Fatal(err)
	}
	if r.DPoP.Mode != DPoPDisabled || r.MTLS.Required {
		t.Errorf("defaults: dpop %+v mtls %+v", r.DPoP, r.MTLS)
	}
	r, err = parseRule0(t, `,"dpop":{"mode":"allowed"}`)
	if err != nil {
		t.Fatal(err)
	}
	want = DPoP{Mode: DPoPAllowed, MaxAge: DefaultDPoPMaxAge, ClockSkew: DefaultDPoPClockSkew, NonceLifetime: DefaultDPoPNonceLifetime, ReplayCacheSize: DefaultReplayCacheSize}
	if !reflect.DeepEqual(r.DPoP, want) {
		t.Errorf("dpop defaults %+v, want %+v", r.DPoP, want)
	}
}

func TestParseSenderConstraintErrorsNameTheField(t *testing.T) {
	for _, tt := range []struct{ extra, field, msg string }{
		{`,"dpop":true`, "jwtRules[0].dpop", "must be an object"},
		{`,"dpop":{}`, "jwtRules[0].dpop.mode", "required"},
		{`,"dpop":{"mode":"on"}`, "jwtRules[0].dpop.mode", `"disabled", "allowed" or "required"`},
		{`,"dpop":{"mode":1}`, "jwtRules[0].dpop.mode", "must be a string"},
		{`,"dpop":{"mode":"allowed","mode":"required"}`, "jwtRules[0].dpop.mode", "duplicate field"},
		{`,"dpop":{"mode":"allowed","algorithms":["ES256","HS256"]}`, "jwtRules[0].dpop.algorithms[1]", "none and HMAC are never accepted"},
		{`,"dpop":{"mode":"allowed","algorithms":["none"]}`, "jwtRules[0].dpop.algorithms[0]", "none and HMAC are never accepted"},
		{`,"dpop":{"mode":"allowed","algorithms":[]}`, "", ""}, // an empty list is every algorithm
		{`,"dpop":{"mode":"allowed","maxAge":"2h"}`, "jwtRules[0].dpop.maxAge", "at most 1h0m0s"},
		{`,"dpop":{"mode":"allowed","maxAge":"-1s"}`, "jwtRules[0].dpop.maxAge", "must be positive"},
		{`,"dpop":{"mode":"allowed","clockSkew":"0s"}`, "jwtRules[0].dpop.clockSkew", "must be positive"},
		{`,"dpop":{"mode":"allowed","origins":["https://api.example/v1"]}`, "jwtRules[0].dpop.origins[0]", "scheme://authority"},
		{`,"dpop":{"mode":"allowed","origins":["api.example"]}`, "jwtRules[0].dpop.origins[0]", "scheme://authority"},
		{`,"dpop":{"mode":"allowed","origins":"https://api.example"}`, "jwtRules[0].dpop.origins", "must be an array of strings"},
		{`,"dpop":{"mode":"allowed","requireNonce":"yes"}`, "jwtRules[0].dpop.requireNonce", "true or false"},
		{`,"dpop":{"mode":"allowed","replayCacheSize":0}`, "jwtRules[0].dpop.replayCacheSize", "positive integer"},
		{`,"dpop":{"mode":"allowed","replayCacheSize":2000000}`, "jwtRules[0].dpop.replayCacheSize", "at most 1048576"},
		{`,"dpop":{"mode":"allowed","nonce":true}`, "jwtRules[0].dpop.nonce", "unknown field"},
		{`,"mtls":{"mode":"disabled"}`, "jwtRules[0].mtls.mode", "always checked"},
		{`,"mtls":{}`, "jwtRules[0].mtls.mode", "required"},
		{`,"mtls":{"mode":"required","digest":"x"}`, "jwtRules[0].mtls.digest", "unknown field"},
	} {
		_, err := parseRule0(t, tt.extra)
		if tt.field == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.extra, err)
			}
			continue
		}
		ce, ok := err.(*Error)
		if !ok || ce.Field != tt.field || !strings.Contains(ce.Msg, tt.msg) {
			t.Errorf("%s: %v; want field %s and %q", tt.extra, err, tt.field, tt.msg)
		}
	}
}
