package jwkscache

import (
	"errors"
	"strconv"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/edgejwt/edgejwt/internal/httpuri"
)

// MaxDiscoverySize bounds an OpenID provider configuration document.
const MaxDiscoverySize = 64 << 10

// DiscoveryPath is where OpenID Connect Discovery 1.0 (section 4) puts the
// provider configuration, under the issuer URL.
const DiscoveryPath = "/.well-known/openid-configuration"

// ParseDiscovery reads jwks_uri from an OpenID provider configuration. The
// document's issuer must be identical to the one configured (section 4.3:
// otherwise the keys could be another issuer's), and jwks_uri an absolute
// http(s) URL.
func ParseDiscovery(doc []byte, issuer string) (string, error) {
	if len(doc) > MaxDiscoverySize {
		return "", errors.New("discovery: document larger than " + strconv.Itoa(MaxDiscoverySize) + " bytes")
	}
	if !utf8.Valid(doc) || !gjson.ValidBytes(doc) {
		return "", errors.New("discovery: not valid JSON")
	}
	root := gjson.ParseBytes(doc)
	if !root.IsObject() {
		return "", errors.New("discovery: not a JSON object")
	}
	iss, err := uniqueMember(root, "issuer")
	if err != nil || iss.Type != gjson.String || iss.Str != issuer {
		return "", errors.New("discovery: issuer missing or not the configured one")
	}
	ju, err := uniqueMember(root, "jwks_uri")
	if err != nil || ju.Type != gjson.String {
		return "", errors.New("discovery: no jwks_uri string")
	}
	if _, err := httpuri.Parse(ju.Str); err != nil || len(ju.Str) > 2048 {
		return "", errors.New("discovery: jwks_uri is not an absolute http(s) URL")
	}
	return ju.Str, nil
}
