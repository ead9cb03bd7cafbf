package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseDefaults(t *testing.T) {
	cfg, err := Parse([]byte(`{"jwtRules":[{"issuer":"https://issuer.example","jwksUri":"https://issuer.example/.well-known/jwks.json"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		Realm:                 DefaultRealm,
		PendingRequestTimeout: DefaultPendingRequestTimeout,
		MaxPendingRequests:    DefaultMaxPendingRequests,
		MaxTokenSize:          DefaultMaxTokenSize,
		TokenCacheSize:        DefaultTokenCacheSize,
		TokenCacheBytes:       DefaultTokenCacheBytes,
		Rules: []Rule{{
			Issuer:             "https://issuer.example",
			JWKSURI:            "https://issuer.example/.well-known/jwks.json",
			JWKSCluster:        "outbound|443||issuer.example",
			Timeout:            DefaultFetchTimeout,
			RefreshInterval:    DefaultRefreshInterval,
			MinRefreshInterval: DefaultMinRefreshInterval,
			MaxRefreshInterval: DefaultMaxRefreshInterval,
			RetryInterval:      DefaultRetryInterval,
			MaxRetryInterval:   DefaultMaxRetryInterval,
			MaxStale:           DefaultMaxStale,
			UnknownKIDRefetch:  DefaultUnknownKIDRefetch,
			FromHeaders:        []HeaderSource{DefaultHeaderSource},
			FromParams:         []string{DefaultParam},
			Algorithms:         []string{"RS256"},
			ClockSkew:          DefaultClockSkew,
			RequireExpiration:  true,
		}},
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Fatalf("got  %+v\nwant %+v", cfg, want)
	}
}

func TestParseAllFields(t *testing.T) {
	cfg, err := Parse([]byte(`{
	  "realm": "api",
	  "pendingRequestTimeout": "1500ms",
	  "maxPendingRequests": 10,
	  "maxTokenSize": 4096,
	  "jwtRules": [{
	    "issuer": "iss-a",
	    "audiences": ["a", "b"],
	    "jwksUri": "http://127.0.0.1:8082/jwks",
	    "jwksCluster": "jwks_a",
	    "timeout": "2s",
	    "jwksRefreshInterval": "1m",
	    "jwksMinRefreshInterval": "10s",
	    "jwksMaxRefreshInterval": "1h",
	    "jwksRetryInterval": "500ms",
	    "jwksMaxRetryInterval": "30s",
	    "jwksMaxStale": "2h",
	    "jwksUnknownKidRefetchInterval": "15s",
	    "fromHeaders": [{"name": "X-Token", "prefix": ""}],
	    "outputPayloadToHeader": "X-Payload",
	    "outputClaimToHeaders": [{"header": "X-Sub", "claim": "sub"}],
	    "forwardOriginalToken": true,
	    "algorithms": ["RS256", "ES256"],
	    "clockSkew": "5s",
	    "requireExpiration": false
	  }, {
	    "issuer": "iss-b",
	    "jwks": "{\"keys\":[]}"
	  }]
	}`))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Realm != "api" || cfg.PendingRequestTimeout != 1500*time.Millisecond || cfg.MaxPendingRequests != 10 || cfg.MaxTokenSize != 4096 {
		t.Errorf("top level: %+v", cfg)
	}
	a := cfg.Rules[0]
	wantA := Rule{
		Issuer: "iss-a", Audiences: []string{"a", "b"},
		JWKSURI: "http://127.0.0.1:8082/jwks", JWKSCluster: "jwks_a",
		Timeout: 2 * time.Second, RefreshInterval: time.Minute,
		MinRefreshInterval: 10 * time.Second, MaxRefreshInterval: time.Hour,
		RetryInterval: 500 * time.Millisecond, MaxRetryInterval: 30 * time.Second,
		MaxStale: 2 * time.Hour, UnknownKIDRefetch: 15 * time.Second,
		FromHeaders:         []HeaderSource{{Name: "x-token", Prefix: ""}},
		OutputPayloadHeader: "x-payload",
		OutputClaimHeaders:  []ClaimHeader{{Header: "x-sub", Claim: "sub", Path: "sub"}},
		ForwardOriginal:     true,
		Algorithms:          []string{"RS256", "ES256"},
		ClockSkew:           5 * time.Second,
		RequireExpiration:   false,
	}
	if !reflect.DeepEqual(a, wantA) {
		t.Errorf("rule 0:\ngot  %+v\nwant %+v", a, wantA)
	}
	if b := cfg.Rules[1]; b.JWKS != `{"keys":[]}` || b.JWKSCluster != "" {
		t.Errorf("rule 1: %+v", b)
	}
}

func TestParseErrorsNameTheField(t *testing.T) {
	const ok = `"issuer":"i","jwksUri":"http://h/j"`
	tests := []struct {
		name, doc, field string
	}{
		{"not json", `{`, ""},
		{"not an object", `[]`, ""},
		{"no rules", `{}`, "jwtRules"},
		{"empty rules", `{"jwtRules":[]}`, "jwtRules"},
		{"rules not array", `{"jwtRules":{}}`, "jwtRules"},
		{"unknown top-level field", `{"jwtRules":[{` + ok + `}],"realmm":"x"}`, "realmm"},
		{"duplicate top-level field", `{"realm":"a","realm":"b","jwtRules":[{` + ok + `}]}`, "realm"},
		{"unknown rule field", `{"jwtRules":[{` + ok + `,"issuers":"x"}]}`, "jwtRules[0].issuers"},
		{"missing issuer", `{"jwtRules":[{"jwksUri":"http://h/j"}]}`, "jwtRules[0].issuer"},
		{"empty issuer", `{"jwtRules":[{"issuer":"","jwksUri":"http://h/j"}]}`, "jwtRules[0].issuer"},
		{"issuer not a string", `{"jwtRules":[{"issuer":1,"jwksUri":"http://h/j"}]}`, "jwtRules[0].issuer"},
		{"missing key source", `{"jwtRules":[{"issuer":"i"}]}`, "jwtRules[0].jwksUri"},
		{"both key sources", `{"jwtRules":[{` + ok + `,"jwks":"{}"}]}`, "jwtRules[0].jwks"},
		{"inline jwks not json", `{"jwtRules":[{"issuer":"i","jwks":"{"}]}`, "jwtRules[0].jwks"},
		{"relative uri", `{"jwtRules":[{"issuer":"i","jwksUri":"/jwks"}]}`, "jwtRules[0].jwksUri"},
		{"ftp uri", `{"jwtRules":[{"issuer":"i","jwksUri":"ftp://h/jwks"}]}`, "jwtRules[0].jwksUri"},
		{"bad duration", `{"jwtRules":[{` + ok + `,"timeout":"banana"}]}`, "jwtRules[0].timeout"},
		{"numeric duration", `{"jwtRules":[{` + ok + `,"timeout":5}]}`, "jwtRules[0].timeout"},
		{"negative duration", `{"jwtRules":[{` + ok + `,"clockSkew":"-1s"}]}`, "jwtRules[0].clockSkew"},
		{"zero refresh", `{"jwtRules":[{` + ok + `,"jwksRefreshInterval":"0s"}]}`, "jwtRules[0].jwksRefreshInterval"},
		{"bad pending timeout", `{"jwtRules":[{` + ok + `}],"pendingRequestTimeout":"x"}`, "pendingRequestTimeout"},
		{"fractional max pending", `{"jwtRules":[{` + ok + `}],"maxPendingRequests":1.5}`, "maxPendingRequests"},
		{"negative cache size", `{"jwtRules":[{` + ok + `}],"tokenCacheSize":-1}`, "tokenCacheSize"},
		{"hostCrypto not bool", `{"jwtRules":[{` + ok + `}],"hostCrypto":1}`, "hostCrypto"},
		{"discovery with jwksUri", `{"jwtRules":[{` + ok + `,"oidcDiscovery":true}]}`, "jwtRules[0].oidcDiscovery"},
		{"discovery without URL issuer", `{"jwtRules":[{"issuer":"acme","oidcDiscovery":true}]}`, "jwtRules[0].issuer"},
		{"zero cache bytes", `{"jwtRules":[{` + ok + `}],"tokenCacheBytes":0}`, "tokenCacheBytes"},
		{"zero token size", `{"jwtRules":[{` + ok + `}],"maxTokenSize":0}`, "maxTokenSize"},
		{"audiences not array", `{"jwtRules":[{` + ok + `,"audiences":"a"}]}`, "jwtRules[0].audiences"},
		{"audience not string", `{"jwtRules":[{` + ok + `,"audiences":[1]}]}`, "jwtRules[0].audiences[0]"},
		{"alg none", `{"jwtRules":[{` + ok + `,"algorithms":["none"]}]}`, "jwtRules[0].algorithms[0]"},
		{"alg HS256", `{"jwtRules":[{` + ok + `,"algorithms":["RS256","HS256"]}]}`, "jwtRules[0].algorithms[1]"},
		{"header source unknown field", `{"jwtRules":[{` + ok + `,"fromHeaders":[{"name":"a","value_prefix":"x"}]}]}`, "jwtRules[0].fromHeaders[0].value_prefix"},
		{"header source without name", `{"jwtRules":[{` + ok + `,"fromHeaders":[{"prefix":"x"}]}]}`, "jwtRules[0].fromHeaders[0].name"},
		{"bad header name", `{"jwtRules":[{` + ok + `,"outputPayloadToHeader":"x payload"}]}`, "jwtRules[0].outputPayloadToHeader"},
		{"pseudo header", `{"jwtRules":[{` + ok + `,"outputPayloadToHeader":":path"}]}`, "jwtRules[0].outputPayloadToHeader"},
		{"claim header missing claim", `{"jwtRules":[{` + ok + `,"outputClaimToHeaders":[{"header":"x"}]}]}`, "jwtRules[0].outputClaimToHeaders[0]"},
		{"forward not bool", `{"jwtRules":[{` + ok + `,"forwardOriginalToken":"true"}]}`, "jwtRules[0].forwardOriginalToken"},
		{"duplicate issuer", `{"jwtRules":[{` + ok + `},{` + ok + `}]}`, "jwtRules[1].issuer"},
		{"min refresh over max", `{"jwtRules":[{` + ok + `,"jwksMinRefreshInterval":"2h","jwksMaxRefreshInterval":"1h"}]}`, "jwtRules[0].jwksMinRefreshInterval"},
		{"retry over max retry", `{"jwtRules":[{` + ok + `,"jwksRetryInterval":"2m"}]}`, "jwtRules[0].jwksRetryInterval"},
		{"bad max stale", `{"jwtRules":[{` + ok + `,"jwksMaxStale":"forever"}]}`, "jwtRules[0].jwksMaxStale"},
		// Token sources.
		{"params not array", `{"jwtRules":[{` + ok + `,"fromParams":"access_token"}]}`, "jwtRules[0].fromParams"},
		{"empty param name", `{"jwtRules":[{` + ok + `,"fromParams":[""]}]}`, "jwtRules[0].fromParams[0]"},
		{"param name with =", `{"jwtRules":[{` + ok + `,"fromParams":["a=b"]}]}`, "jwtRules[0].fromParams[0]"},
		{"param name with %", `{"jwtRules":[{` + ok + `,"fromParams":["ok","a%20"]}]}`, "jwtRules[0].fromParams[1]"},
		{"cookies not array", `{"jwtRules":[{` + ok + `,"fromCookies":{}}]}`, "jwtRules[0].fromCookies"},
		{"cookie name with space", `{"jwtRules":[{` + ok + `,"fromCookies":["a b"]}]}`, "jwtRules[0].fromCookies[0]"},
		{"cookie name with ;", `{"jwtRules":[{` + ok + `,"fromCookies":["a;"]}]}`, "jwtRules[0].fromCookies[0]"},
		{"cookie header as a header source", `{"jwtRules":[{` + ok + `,"fromHeaders":[{"name":"Cookie","prefix":"jwt="}]}]}`, "jwtRules[0].fromHeaders[0].name"},
		// Claims.
		{"bad max lifetime", `{"jwtRules":[{` + ok + `,"maxLifetime":"1d"}]}`, "jwtRules[0].maxLifetime"},
		{"zero max lifetime", `{"jwtRules":[{` + ok + `,"maxLifetime":"0s"}]}`, "jwtRules[0].maxLifetime"},
		{"max lifetime without exp", `{"jwtRules":[{` + ok + `,"maxLifetime":"1h","requireExpiration":false}]}`, "jwtRules[0].requireExpiration"},
		{"subjects not array", `{"jwtRules":[{` + ok + `,"subjects":{"exact":"a"}}]}`, "jwtRules[0].subjects"},
		{"subjects empty", `{"jwtRules":[{` + ok + `,"subjects":[]}]}`, "jwtRules[0].subjects"},
		{"subject matcher empty", `{"jwtRules":[{` + ok + `,"subjects":[{}]}]}`, "jwtRules[0].subjects[0]"},
		{"subject matcher two kinds", `{"jwtRules":[{` + ok + `,"subjects":[{"exact":"a","prefix":"b"}]}]}`, "jwtRules[0].subjects[0]"},
		{"subject matcher unknown kind", `{"jwtRules":[{` + ok + `,"subjects":[{"glob":"a*"}]}]}`, "jwtRules[0].subjects[0].glob"},
		{"subject prefix empty", `{"jwtRules":[{` + ok + `,"subjects":[{"prefix":""}]}]}`, "jwtRules[0].subjects[0].prefix"},
		{"subject bad regex", `{"jwtRules":[{` + ok + `,"subjects":[{"regex":"a("}]}]}`, "jwtRules[0].subjects[0].regex"},
		{"subject regex ignoreCase", `{"jwtRules":[{` + ok + `,"subjects":[{"regex":"a","ignoreCase":true}]}]}`, "jwtRules[0].subjects[0].ignoreCase"},
		{"subject ignoreCase not bool", `{"jwtRules":[{` + ok + `,"subjects":[{"exact":"a","ignoreCase":1}]}]}`, "jwtRules[0].subjects[0].ignoreCase"},
		{"claim path empty name", `{"jwtRules":[{` + ok + `,"outputClaimToHeaders":[{"header":"x","claim":"a..b"}]}]}`, "jwtRules[0].outputClaimToHeaders[0].claim"},
		{"claim path trailing dot", `{"jwtRules":[{` + ok + `,"outputClaimToHeaders":[{"header":"x","claim":"a."}]}]}`, "jwtRules[0].outputClaimToHeaders[0].claim"},
		{"claim path bad escape", `{"jwtRules":[{` + ok + `,"outputClaimToHeaders":[{"header":"x","claim":"a\\*"}]}]}`, "jwtRules[0].outputClaimToHeaders[0].claim"},
		{"claim path trailing backslash", `{"jwtRules":[{` + ok + `,"outputClaimToHeaders":[{"header":"x","claim":"a\\"}]}]}`, "jwtRules[0].outputClaimToHeaders[0].claim"},
		{"claim path control char", `{"jwtRules":[{` + ok + `,"outputClaimToHeaders":[{"header":"x","claim":"a\nb"}]}]}`, "jwtRules[0].outputClaimToHeaders[0].claim"},
		{"filter state name empty", `{"jwtRules":[{` + ok + `,"outputPayloadToFilterState":""}]}`, "jwtRules[0].outputPayloadToFilterState"},
		{"filter state name with slash", `{"jwtRules":[{` + ok + `,"outputPayloadToFilterState":"a/b"}]}`, "jwtRules[0].outputPayloadToFilterState"},
		// Top-level options.
		{"bypassCorsPreflight not bool", `{"jwtRules":[{` + ok + `}],"bypassCorsPreflight":"yes"}`, "bypassCorsPreflight"},
		{"stripFailureResponse not bool", `{"jwtRules":[{` + ok + `}],"stripFailureResponse":1}`, "stripFailureResponse"},
		{"allowDuplicateToken not bool", `{"jwtRules":[{` + ok + `}],"allowDuplicateToken":null}`, "allowDuplicateToken"},
		// Request rules.
		{"rules not array", `{"jwtRules":[{` + ok + `}],"rules":{}}`, "rules"},
		{"rule not object", `{"jwtRules":[{` + ok + `}],"rules":["/health"]}`, "rules[0]"},
		{"rule unknown field", `{"jwtRules":[{` + ok + `}],"rules":[{"match":{"prefix":"/"},"requirement":"bypass","requires":"x"}]}`, "rules[0].requires"},
		{"rule without match", `{"jwtRules":[{` + ok + `}],"rules":[{"requirement":"bypass"}]}`, "rules[0].match"},
		{"rule without requirement", `{"jwtRules":[{` + ok + `}],"rules":[{"match":{"prefix":"/"}}]}`, "rules[0].requirement"},
		{"rule unknown requirement", `{"jwtRules":[{` + ok + `}],"rules":[{"match":{"prefix":"/"},"requirement":"optional"}]}`, "rules[0].requirement"},
		{"rule match not object", `{"jwtRules":[{` + ok + `}],"rules":[{"match":"/","requirement":"bypass"}]}`, "rules[0].match"},
		{"rule match empty", `{"jwtRules":[{` + ok + `}],"rules":[{"match":{},"requirement":"bypass"}]}`, "rules[0].match"},
		{"rule match two kinds", `{"jwtRules":[{` + ok + `}],"rules":[{"match":{"path":"/a","prefix":"/"},"requirement":"bypass"}]}`, "rules[0].match"},
		{"rule match methods only", `{"jwtRules":[{` + ok + `}],"rules":[{"match":{"methods":["GET"]},"requirement":"bypass"}]}`, "rules[0].match"},
		{"rule match unknown field", `{"jwtRules":[{` + ok + `}],"rules":[{"match":{"safe_regex":"/"},"requirement":"bypass"}]}`, "rules[0].match.safe_regex"},
		{"rule path relative", `{"jwtRules":[{` + ok + `}],"rules":[{"match":{"path":"healthz"},"requirement":"bypass"}]}`, "rules[0].match.path"},
		{"rule prefix relative", `{"jwtRules":[{` + ok + `}],"rules":[{"match":{"prefix":""},"requirement":"bypass"}]}`, "rules[0].match.prefix"},
		{"rule bad regex", `{"jwtRules":[{` + ok + `}],"rules":[{"match":{"regex":"/a[" },"requirement":"bypass"}]}`, "rules[0].match.regex"},
		{"rule empty regex", `{"jwtRules":[{` + ok + `}],"rules":[{"match":{"regex":""},"requirement":"bypass"}]}`, "rules[0].match.regex"},
		{"rule methods empty", `{"jwtRules":[{` + ok + `}],"rules":[{"match":{"prefix":"/","methods":[]},"requirement":"bypass"}]}`, "rules[0].match.methods"},
		{"rule method lower case", `{"jwtRules":[{` + ok + `}],"rules":[{"match":{"prefix":"/","methods":["GET","post"]},"requirement":"bypass"}]}`, "rules[0].match.methods[1]"},
		{"rule method with space", `{"jwtRules":[{` + ok + `}],"rules":[{"match":{"prefix":"/","methods":["GE T"]},"requirement":"bypass"}]}`, "rules[0].match.methods[0]"},
		{"rule issuers empty", `{"jwtRules":[{` + ok + `}],"rules":[{"match":{"prefix":"/"},"requirement":"required","issuers":[]}]}`, "rules[0].issuers"},
		{"rule unknown issuer", `{"jwtRules":[{` + ok + `}],"rules":[{"match":{"prefix":"/"},"requirement":"required"},{"match":{"prefix":"/"},"requirement":"required","issuers":["i","j"]}]}`, "rules[1].issuers[1]"},
		{"bypass rule with issuers", `{"jwtRules":[{` + ok + `}],"rules":[{"match":{"prefix":"/"},"requirement":"bypass","issuers":["i"]}]}`, "rules[0].issuers"},
		{"realm with quote", `{"jwtRules":[{` + ok + `}],"realm":"a\"b"}`, "realm"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.doc))
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("Parse(%s) = %v, want a config error", tt.doc, err)
			}
			if ce.Field != tt.field {
				t.Errorf("field = %q, want %q (%v)", ce.Field, tt.field, err)
			}
			if tt.field != "" && !strings.Contains(err.Error(), tt.field) {
				t.Errorf("message %q does not name %q", err, tt.field)
			}
		})
	}
}

func TestIstioClusterName(t *testing.T) {
	for uri, want := range map[string]string{
		"https://login.example.com/keys":          "outbound|443||login.example.com",
		"http://issuer.ns.svc.cluster.local/jwks": "outbound|80||issuer.ns.svc.cluster.local",
		"http://127.0.0.1:8082/jwks":              "outbound|8082||127.0.0.1",
	} {
		if got := IstioClusterName(uri); got != want {
			t.Errorf("IstioClusterName(%q) = %q, want %q", uri, got, want)
		}
	}
}
