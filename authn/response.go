package authn

import (
	"errors"
	"strings"

	"github.com/edgejwt/edgejwt/verifier"
)

// Response is a local answer, built once per reason and reused.
type Response struct {
	Status  uint32
	Headers [][2]string
	Body    []byte
}

var errKeysUnavailable = errors.New("signing keys not available")

// Reason is the short, fixed text that explains err to a client.
func Reason(err error) string {
	switch {
	case errors.Is(err, ErrNoToken):
		return "no token"
	case errors.Is(err, ErrMultipleTokens):
		return ErrMultipleTokens.Error()
	case errors.Is(err, errKeysUnavailable):
		return errKeysUnavailable.Error()
	case errors.Is(err, ErrPathNotNormal):
		return ErrPathNotNormal.Error()
	case errors.Is(err, ErrMethodOverride):
		return ErrMethodOverride.Error()
	case err == ErrInsufficientScope || err == ErrClaimMismatch:
		return err.Error()
	}
	if r := bindingReason(err); r != "" {
		return r
	}
	return verifier.Reason(err)
}

type responses struct {
	realm       string
	strip       bool // stripFailureResponse: no body, no error_description
	missing     *Response
	unavailable *Response
	badPath     *Response
	badMethod   *Response
	internal    *Response
	invalid     map[string]*Response
}

func newResponses(realm string, strip bool) *responses {
	r := &responses{realm: realm, strip: strip, invalid: map[string]*Response{}}
	r.missing = r.build(401, `Bearer realm="`+realm+`"`, `{"error":"No token provided"}`)
	r.unavailable = r.build(503, "", `{"error":"Authentication unavailable","details":`+jsonString(errKeysUnavailable.Error())+`}`)
	r.badPath = r.build(400, "", `{"error":"Bad request","details":`+jsonString(ErrPathNotNormal.Error())+`}`)
	r.badMethod = r.build(400, "", `{"error":"Bad request","details":`+jsonString(ErrMethodOverride.Error())+`}`)
	r.internal = r.build(500, "", string(InternalResponse.Body))
	return r
}

// badRequest is the 400 answer to a request the rules cannot judge.
func (r *responses) badRequest(err error) *Response {
	if errors.Is(err, ErrMethodOverride) {
		return r.badMethod
	}
	return r.badPath
}

// build makes an answer; with strip, it has neither body nor content-type.
func (r *responses) build(status uint32, challenge, body string) *Response {
	resp := &Response{Status: status}
	if !r.strip {
		resp.Headers = append(resp.Headers, [2]string{"content-type", "application/json"})
		resp.Body = []byte(body)
	}
	if challenge != "" {
		resp.Headers = append(resp.Headers, [2]string{"www-authenticate", challenge})
	}
	return resp
}

// forError returns the answer to a refused request. RFC 6750 section 3.1:
// no error attribute when the request carried no token.
func (r *responses) forError(err error) *Response {
	if errors.Is(err, ErrNoToken) {
		return r.missing
	}
	reason := Reason(err)
	if resp, ok := r.invalid[reason]; ok {
		return resp
	}
	challenge := `Bearer realm="` + r.realm + `", error="invalid_token"`
	if !r.strip {
		// Stripped answers say that the token is invalid (RFC 6750 section
		// 3.1), not why.
		challenge += `, error_description="` + reason + `"`
	}
	resp := r.build(401, challenge, `{"error":"Invalid token","details":`+jsonString(reason)+`}`)
	r.invalid[reason] = resp
	return resp
}

// jsonString quotes s as a JSON string. Reasons are fixed ASCII texts; the
// escaping is there so that no future reason can break the body.
func jsonString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20:
			b.WriteString(`\u00`)
			b.WriteByte("0123456789abcdef"[c>>4])
			b.WriteByte("0123456789abcdef"[c&0xf])
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// InternalResponse answers a request the filter could not decide on because
// of a fault of its own: it fails closed.
var InternalResponse = &Response{
	Status:  500,
	Headers: [][2]string{{"content-type", "application/json"}},
	Body:    []byte(`{"error":"Internal error"}`),
}

var errInternal = errors.New("internal error")

// Internal is the decision for a request the filter could not decide on.
func (a *Authenticator) Internal() Decision {
	return Decision{Outcome: Deny, Rule: -1, Err: errInternal, Response: a.responses.internal}
}
