package wasmhost

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
)

// HTTP callouts (proxy_http_call): recorded until the test answers them.

// HTTPCall is a proxy_http_call the module made.
type HTTPCall struct {
	ID            uint32
	Context       uint32 // the context that made it
	Cluster       string
	Headers       [][2]string
	Body          []byte
	Trailers      [][2]string
	TimeoutMillis uint32
}

type callResponse struct {
	headers, trailers headerMap
	body              []byte
}

// PendingHTTPCalls are the HTTP calls not yet answered, oldest first.
func (h *Host) PendingHTTPCalls() []HTTPCall {
	var out []HTTPCall
	for _, id := range slices.Sorted(maps.Keys(h.httpCalls)) {
		out = append(out, *h.httpCalls[id])
	}
	return out
}

// RespondHTTPCall answers an HTTP call through proxy_on_http_call_response
// on the root context, with the response headers (":status" first) and
// body served while it runs. Status 0 is a failed call: no headers, no body,
// as Envoy reports a connection failure or a timeout.
func (h *Host) RespondHTTPCall(id uint32, status int, headers [][2]string, body []byte) error {
	if h.httpCalls[id] == nil {
		return fmt.Errorf("wasmhost: no pending HTTP call %d", id)
	}
	delete(h.httpCalls, id)
	resp := &callResponse{}
	if status > 0 {
		resp.headers = append(headerMap{{":status", strconv.Itoa(status)}}, clonePairs(headers)...)
		resp.body = slices.Clone(body)
	}
	if !h.HasExport("proxy_on_http_call_response") {
		return nil
	}
	h.callResponse = resp
	defer func() { h.callResponse = nil }()
	_, err := h.callback(rootContextID, "proxy_on_http_call_response",
		rootContextID, uint64(id), uint64(len(resp.headers)), uint64(len(resp.body)), 0)
	return err
}
