package jwkscache

import (
	"strings"
	"testing"
)

func TestParseDiscovery(t *testing.T) {
	const iss = "https://login.example.com"
	tests := []struct {
		name, doc, want, err string
	}{
		{"ok", `{"issuer":"https://login.example.com","jwks_uri":"https://keys.example.com/jwks","authorization_endpoint":"x"}`, "https://keys.example.com/jwks", ""},
		{"other issuer", `{"issuer":"https://evil.example.com","jwks_uri":"https://keys.example.com/jwks"}`, "", "issuer"},
		{"issuer with a trailing slash", `{"issuer":"https://login.example.com/","jwks_uri":"https://k/j"}`, "", "issuer"},
		{"issuer twice", `{"issuer":"https://login.example.com","issuer":"x","jwks_uri":"https://k/j"}`, "", "issuer"},
		{"no jwks_uri", `{"issuer":"https://login.example.com"}`, "", "jwks_uri"},
		{"relative jwks_uri", `{"issuer":"https://login.example.com","jwks_uri":"/jwks"}`, "", "jwks_uri"},
		{"file jwks_uri", `{"issuer":"https://login.example.com","jwks_uri":"file:///etc/keys"}`, "", "jwks_uri"},
		{"not json", `<html>`, "", "JSON"},
		{"too large", `{"issuer":"` + strings.Repeat("a", MaxDiscoverySize) + `"}`, "", "larger"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDiscovery([]byte(tt.doc), iss)
			if tt.err == "" {
				if err != nil || got != tt.want {
					t.Fatalf("= %q, %v; want %q", got, err, tt.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("err = %v, want one about %q", err, tt.err)
			}
		})
	}
}
