package wasmhost

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
)

// HTTP requests: one HTTP context each, from proxy_on_context_create to
// proxy_on_delete, and where each stands.

// Outcome is where an HTTP request stands.
type Outcome int

const (
	// Paused: the filter holds the request.
	Paused Outcome = iota
	// Continue: the request goes on to the upstream.
	Continue
	// Local: the filter answered the request itself.
	Local
)

func (o Outcome) String() string {
	switch o {
	case Paused:
		return "Paused"
	case Continue:
		return "Continue"
	case Local:
		return "Local"
	}
	return "Outcome(" + strconv.Itoa(int(o)) + ")"
}

// Result is the state of one HTTP request.
type Result struct {
	ID      uint32
	Outcome Outcome
	// Headers are the request headers as the filter left them: what the
	// upstream gets when the request continues.
	Headers [][2]string
	// Local is the filter's answer when Outcome is Local.
	Local *LocalResponse
	// FilterState is what the filter set with proxy_set_property.
	FilterState map[string][]byte
	// Resumed and ResponseResumed count the filter's
	// proxy_continue_stream calls for the request and the response (a
	// held request let through is resumed once).
	Resumed, ResponseResumed int
	// Closed lists the stream types of its proxy_close_stream calls.
	Closed []uint32
}

// LocalResponse is a proxy_send_local_response.
type LocalResponse struct {
	Status     uint32
	Headers    [][2]string
	Body       []byte
	Detail     string
	GRPCStatus int32
}

// Header returns the first value of a header of the response.
func (r *LocalResponse) Header(name string) (string, bool) { return headerMap(r.Headers).get(name) }

// stream is an HTTP context.
type stream struct {
	id                                uint32
	request, response                 headerMap
	requestTrailers, responseTrailers headerMap
	requestBody, responseBody         []byte
	local                             *LocalResponse
	continued                         bool
	resumed, responseResumed          int
	closed                            []uint32
	filterState                       map[string][]byte
}

// Request runs a new HTTP request through the filter: a new HTTP context,
// then proxy_on_request_headers with headers (end of stream: a request
// without a body). The Result is where the request stands afterwards.
func (h *Host) Request(headers [][2]string) (Result, error) {
	id := h.nextID
	h.nextID++
	s := &stream{id: id, request: clonePairs(headers), filterState: map[string][]byte{}}
	h.streams[id] = s
	if _, err := h.callback(id, "proxy_on_context_create", uint64(id), rootContextID); err != nil {
		return Result{ID: id}, err
	}
	if h.HasExport("proxy_on_request_headers") {
		res, err := h.callback(id, "proxy_on_request_headers", uint64(id), uint64(len(headers)), 1)
		if err != nil {
			return Result{ID: id}, err
		}
		if res[0] == actionContinue {
			s.continued = true
		}
	} else {
		s.continued = true
	}
	return s.result(), nil
}

// Stream returns where a request not yet finished stands.
func (h *Host) Stream(id uint32) (Result, bool) {
	s := h.streams[id]
	if s == nil {
		return Result{}, false
	}
	return s.result(), true
}

func (s *stream) result() Result {
	r := Result{
		ID: s.id, Headers: slices.Clone([][2]string(s.request)), FilterState: maps.Clone(s.filterState),
		Resumed: s.resumed, ResponseResumed: s.responseResumed, Closed: slices.Clone(s.closed),
	}
	switch {
	case s.local != nil:
		r.Outcome, r.Local = Local, s.local
	case s.continued:
		r.Outcome = Continue
	}
	return r
}

// FinishRequest ends a request as Envoy does when the stream closes:
// proxy_on_done, proxy_on_log, proxy_on_delete, each only if the module
// exports it.
func (h *Host) FinishRequest(id uint32) error {
	if h.streams[id] == nil {
		return fmt.Errorf("wasmhost: no request %d", id)
	}
	for _, cb := range []string{"proxy_on_done", "proxy_on_log", "proxy_on_delete"} {
		if !h.HasExport(cb) {
			continue
		}
		if _, err := h.callback(id, cb, uint64(id)); err != nil {
			return err
		}
	}
	delete(h.streams, id)
	return nil
}
