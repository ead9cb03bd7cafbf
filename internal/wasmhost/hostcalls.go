package wasmhost

import (
	"context"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// The proxy-wasm host functions (module "env") that hostabi/hostcalls.go
// imports, with Envoy's answers. Each takes the call's i32/i64 arguments
// from the stack and returns a status.

type hostFunc struct {
	name   string
	params string // one letter per parameter: i (i32) or I (i64)
	fn     func(h *Host, mod api.Module, p []uint64) uint32
}

var hostFuncs = []hostFunc{
	{"proxy_log", "iii", (*Host).log},
	{"proxy_send_local_response", "iiiiiiii", (*Host).sendLocalResponse},
	{"proxy_get_shared_data", "iiiii", (*Host).getSharedData},
	{"proxy_set_shared_data", "iiiii", (*Host).setSharedData},
	{"proxy_register_shared_queue", "iii", unimplemented},
	{"proxy_resolve_shared_queue", "iiiii", unimplemented},
	{"proxy_dequeue_shared_queue", "iii", unimplemented},
	{"proxy_enqueue_shared_queue", "iii", unimplemented},
	{"proxy_get_header_map_value", "iiiii", (*Host).getHeaderMapValue},
	{"proxy_add_header_map_value", "iiiii", (*Host).addHeaderMapValue},
	{"proxy_replace_header_map_value", "iiiii", (*Host).replaceHeaderMapValue},
	{"proxy_remove_header_map_value", "iii", (*Host).removeHeaderMapValue},
	{"proxy_get_header_map_pairs", "iii", (*Host).getHeaderMapPairs},
	{"proxy_set_header_map_pairs", "iii", (*Host).setHeaderMapPairs},
	{"proxy_get_buffer_bytes", "iiiii", (*Host).getBufferBytes},
	{"proxy_set_buffer_bytes", "iiiii", (*Host).setBufferBytes},
	{"proxy_continue_stream", "i", (*Host).continueStream},
	{"proxy_close_stream", "i", (*Host).closeStream},
	{"proxy_http_call", "iiiiiiiiii", (*Host).httpCall},
	{"proxy_call_foreign_function", "iiiiii", notFound},
	{"proxy_set_tick_period_milliseconds", "i", (*Host).setTickPeriod},
	{"proxy_set_effective_context", "i", (*Host).setEffectiveContext},
	{"proxy_done", "", (*Host).done},
	{"proxy_define_metric", "iiii", (*Host).defineMetric},
	{"proxy_increment_metric", "iI", (*Host).incrementMetric},
	{"proxy_record_metric", "iI", (*Host).recordMetric},
	{"proxy_get_metric", "ii", (*Host).getMetric},
	{"proxy_get_property", "iiii", (*Host).getProperty},
	{"proxy_set_property", "iiii", (*Host).setProperty},
}

// instantiateEnv provides the host functions, each counted in HostCalls.
func (h *Host) instantiateEnv(ctx context.Context, r wazero.Runtime) error {
	b := r.NewHostModuleBuilder("env")
	for _, f := range hostFuncs {
		params := make([]api.ValueType, len(f.params))
		for i, c := range f.params {
			params[i] = api.ValueTypeI32
			if c == 'I' {
				params[i] = api.ValueTypeI64
			}
		}
		b.NewFunctionBuilder().
			WithGoModuleFunction(api.GoModuleFunc(func(_ context.Context, mod api.Module, stack []uint64) {
				h.hostCalls[f.name]++
				stack[0] = uint64(f.fn(h, mod, stack))
			}), params, []api.ValueType{api.ValueTypeI32}).
			Export(f.name)
	}
	_, err := b.Instantiate(ctx)
	return err
}

func unimplemented(*Host, api.Module, []uint64) uint32 { return statusUnimplemented }

// notFound answers proxy_call_foreign_function: this host has no foreign
// functions, so a filter that can use one falls back to its own code.
func notFound(*Host, api.Module, []uint64) uint32 { return statusNotFound }

// proxy_log(level, message, message_size)
func (h *Host) log(mod api.Module, p []uint64) uint32 {
	msg, ok := readString(mod, uint32(p[1]), uint32(p[2]))
	if !ok {
		return statusInvalidMemoryAccess
	}
	h.logs = append(h.logs, LogEntry{Level: LogLevel(p[0]), Context: h.effective, Message: msg})
	return statusOK
}

// proxy_send_local_response(status, detail, detail_size, body, body_size,
// headers, headers_size, grpc_status)
func (h *Host) sendLocalResponse(mod api.Module, p []uint64) uint32 {
	s := h.streams[h.effective]
	if s == nil {
		return statusBadArgument
	}
	detail, ok1 := readString(mod, uint32(p[1]), uint32(p[2]))
	body, ok2 := readBytes(mod, uint32(p[3]), uint32(p[4]))
	raw, ok3 := readBytes(mod, uint32(p[5]), uint32(p[6]))
	if !ok1 || !ok2 || !ok3 {
		return statusInvalidMemoryAccess
	}
	headers, err := decodePairs(raw)
	if err != nil {
		return statusBadArgument
	}
	s.local = &LocalResponse{Status: uint32(p[0]), Headers: headers, Body: body, Detail: detail, GRPCStatus: int32(p[7])}
	return statusOK
}

// proxy_get_shared_data(key, key_size, value_ptr_ptr, value_size_ptr, cas_ptr)
func (h *Host) getSharedData(mod api.Module, p []uint64) uint32 {
	key, ok := readString(mod, uint32(p[0]), uint32(p[1]))
	if !ok {
		return statusInvalidMemoryAccess
	}
	e, found := h.shared[key]
	if !found {
		return statusNotFound
	}
	if !writeU32(mod, uint32(p[4]), e.cas) {
		return statusInvalidMemoryAccess
	}
	return h.returnBytes(mod, e.value, uint32(p[2]), uint32(p[3]))
}

// proxy_set_shared_data(key, key_size, value, value_size, cas): as Envoy, a
// non-zero cas must match the key's current one, if the key exists.
func (h *Host) setSharedData(mod api.Module, p []uint64) uint32 {
	key, ok1 := readString(mod, uint32(p[0]), uint32(p[1]))
	value, ok2 := readBytes(mod, uint32(p[2]), uint32(p[3]))
	if !ok1 || !ok2 {
		return statusInvalidMemoryAccess
	}
	return h.storeShared(key, value, uint32(p[4]))
}

func (h *Host) storeShared(key string, value []byte, cas uint32) uint32 {
	if e, found := h.shared[key]; found && cas != 0 && cas != e.cas {
		return statusCASMismatch
	}
	h.lastCAS++
	if h.lastCAS == 0 {
		h.lastCAS++ // 0 means "no CAS check"
	}
	h.shared[key] = sharedEntry{value: value, cas: h.lastCAS}
	return statusOK
}

// headerMapOf returns the header map of the given type on the effective
// context, or nil when it has none.
func (h *Host) headerMapOf(mapType uint32) *headerMap {
	if mapType == mapHTTPCallResponseHeaders || mapType == mapHTTPCallResponseTrailers {
		if h.callResponse == nil {
			return nil
		}
		if mapType == mapHTTPCallResponseHeaders {
			return &h.callResponse.headers
		}
		return &h.callResponse.trailers
	}
	s := h.streams[h.effective]
	if s == nil {
		return nil
	}
	switch mapType {
	case mapRequestHeaders:
		return &s.request
	case mapRequestTrailers:
		return &s.requestTrailers
	case mapResponseHeaders:
		return &s.response
	case mapResponseTrailers:
		return &s.responseTrailers
	}
	return nil
}

// proxy_get_header_map_value(map_type, key, key_size, value_ptr_ptr, value_size_ptr)
func (h *Host) getHeaderMapValue(mod api.Module, p []uint64) uint32 {
	m := h.headerMapOf(uint32(p[0]))
	if m == nil {
		return statusBadArgument
	}
	key, ok := readString(mod, uint32(p[1]), uint32(p[2]))
	if !ok {
		return statusInvalidMemoryAccess
	}
	v, found := m.get(key)
	if !found {
		return statusNotFound
	}
	return h.returnBytes(mod, []byte(v), uint32(p[3]), uint32(p[4]))
}

// headerMapEdit runs one change of a header map: args are key, key_size
// and, with a value, value and value_size.
func (h *Host) headerMapEdit(mod api.Module, p []uint64, withValue bool, edit func(m *headerMap, key, value string)) uint32 {
	m := h.headerMapOf(uint32(p[0]))
	if m == nil {
		return statusBadArgument
	}
	key, ok := readString(mod, uint32(p[1]), uint32(p[2]))
	if !ok {
		return statusInvalidMemoryAccess
	}
	var value string
	if withValue {
		if value, ok = readString(mod, uint32(p[3]), uint32(p[4])); !ok {
			return statusInvalidMemoryAccess
		}
	}
	edit(m, key, value)
	return statusOK
}

func (h *Host) addHeaderMapValue(mod api.Module, p []uint64) uint32 {
	return h.headerMapEdit(mod, p, true, (*headerMap).add)
}

func (h *Host) replaceHeaderMapValue(mod api.Module, p []uint64) uint32 {
	return h.headerMapEdit(mod, p, true, (*headerMap).replace)
}

func (h *Host) removeHeaderMapValue(mod api.Module, p []uint64) uint32 {
	return h.headerMapEdit(mod, p, false, func(m *headerMap, key, _ string) { m.remove(key) })
}

// proxy_get_header_map_pairs(map_type, ptr_ptr, size_ptr): an empty map is
// returned as no bytes, as Envoy does.
func (h *Host) getHeaderMapPairs(mod api.Module, p []uint64) uint32 {
	m := h.headerMapOf(uint32(p[0]))
	if m == nil {
		return statusBadArgument
	}
	var b []byte
	if len(*m) > 0 {
		b = encodePairs(*m)
	}
	return h.returnBytes(mod, b, uint32(p[1]), uint32(p[2]))
}

// proxy_set_header_map_pairs(map_type, pairs, pairs_size)
func (h *Host) setHeaderMapPairs(mod api.Module, p []uint64) uint32 {
	m := h.headerMapOf(uint32(p[0]))
	if m == nil {
		return statusBadArgument
	}
	raw, ok := readBytes(mod, uint32(p[1]), uint32(p[2]))
	if !ok {
		return statusInvalidMemoryAccess
	}
	pairs, err := decodePairs(raw)
	if err != nil {
		return statusSerializationFailed
	}
	*m = clonePairs(pairs)
	return statusOK
}

// buffer returns the buffer of the given type, or nil when there is none
// now: the configurations only during the callbacks that announce them, the
// HTTP call response body only during proxy_on_http_call_response.
func (h *Host) buffer(bufferType uint32) *[]byte {
	switch bufferType {
	case bufferVMConfiguration:
		if h.inCallback("proxy_on_vm_start") {
			return &h.opts.VMConfig
		}
	case bufferPluginConfiguration:
		if h.inCallback("proxy_on_configure") {
			return &h.opts.Config
		}
	case bufferHTTPCallResponseBody:
		if h.callResponse != nil {
			return &h.callResponse.body
		}
	case bufferRequestBody, bufferResponseBody:
		if s := h.streams[h.effective]; s != nil {
			if bufferType == bufferRequestBody {
				return &s.requestBody
			}
			return &s.responseBody
		}
	}
	return nil
}

// proxy_get_buffer_bytes(buffer_type, start, max_size, ptr_ptr, size_ptr)
func (h *Host) getBufferBytes(mod api.Module, p []uint64) uint32 {
	buf := h.buffer(uint32(p[0]))
	if buf == nil {
		return statusNotFound
	}
	start, size := uint64(uint32(p[1])), uint64(uint32(p[2]))
	if start > uint64(len(*buf)) {
		return statusBadArgument
	}
	end := min(start+size, uint64(len(*buf)))
	return h.returnBytes(mod, (*buf)[start:end], uint32(p[3]), uint32(p[4]))
}

// proxy_set_buffer_bytes(buffer_type, start, size, value, value_size), with
// Envoy's cases: (0, 0) prepends, start 0 and a size covering the buffer
// replaces it, a start at or past the end appends.
func (h *Host) setBufferBytes(mod api.Module, p []uint64) uint32 {
	buf := h.buffer(uint32(p[0]))
	if buf == nil || uint32(p[0]) > bufferResponseBody {
		return statusNotFound
	}
	value, ok := readBytes(mod, uint32(p[3]), uint32(p[4]))
	if !ok {
		return statusInvalidMemoryAccess
	}
	start, size := uint64(uint32(p[1])), uint64(uint32(p[2]))
	switch {
	case start == 0 && size == 0:
		*buf = append(value, *buf...)
	case start == 0 && size >= uint64(len(*buf)):
		*buf = value
	case start >= uint64(len(*buf)):
		*buf = append(*buf, value...)
	default:
		return statusBadArgument
	}
	return statusOK
}

// proxy_continue_stream(stream_type)
func (h *Host) continueStream(_ api.Module, p []uint64) uint32 {
	s := h.streams[h.effective]
	if s == nil {
		return statusBadArgument
	}
	switch p[0] {
	case streamRequest:
		s.continued = true
		s.resumed++
	case streamResponse:
		s.responseResumed++
	default:
		return statusBadArgument
	}
	return statusOK
}

// proxy_close_stream(stream_type)
func (h *Host) closeStream(_ api.Module, p []uint64) uint32 {
	s := h.streams[h.effective]
	if s == nil {
		return statusBadArgument
	}
	s.closed = append(s.closed, uint32(p[0]))
	return statusOK
}

// proxy_http_call(upstream, upstream_size, headers, headers_size, body,
// body_size, trailers, trailers_size, timeout_ms, callout_id_ptr): recorded
// until the test answers it (RespondHTTPCall). Envoy refuses a call without
// :method, :path or :authority.
func (h *Host) httpCall(mod api.Module, p []uint64) uint32 {
	cluster, ok1 := readString(mod, uint32(p[0]), uint32(p[1]))
	rawHeaders, ok2 := readBytes(mod, uint32(p[2]), uint32(p[3]))
	body, ok3 := readBytes(mod, uint32(p[4]), uint32(p[5]))
	rawTrailers, ok4 := readBytes(mod, uint32(p[6]), uint32(p[7]))
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return statusInvalidMemoryAccess
	}
	headers, err1 := decodePairs(rawHeaders)
	trailers, err2 := decodePairs(rawTrailers)
	if err1 != nil || err2 != nil {
		return statusBadArgument
	}
	for _, name := range []string{":method", ":path", ":authority"} {
		if _, ok := headerMap(headers).get(name); !ok {
			return statusBadArgument
		}
	}
	h.lastCallout++
	id := h.lastCallout
	if !writeU32(mod, uint32(p[9]), id) {
		return statusInvalidMemoryAccess
	}
	h.httpCalls[id] = &HTTPCall{
		ID: id, Context: h.effective, Cluster: cluster, Headers: headers,
		Body: body, Trailers: trailers, TimeoutMillis: uint32(p[8]),
	}
	return statusOK
}

// proxy_set_tick_period_milliseconds(period)
func (h *Host) setTickPeriod(_ api.Module, p []uint64) uint32 {
	h.tickPeriodMillis = uint32(p[0])
	return statusOK
}

// proxy_set_effective_context(context_id)
func (h *Host) setEffectiveContext(_ api.Module, p []uint64) uint32 {
	id := uint32(p[0])
	if id != rootContextID && h.streams[id] == nil {
		return statusBadArgument
	}
	h.effective = id
	return statusOK
}

// proxy_done()
func (h *Host) done(api.Module, []uint64) uint32 {
	h.doneCalls++
	return statusOK
}

// proxy_define_metric(type, name, name_size, id_ptr): one id per name and
// type, starting at 1 (0 stays "no metric").
func (h *Host) defineMetric(mod api.Module, p []uint64) uint32 {
	typ := uint32(p[0])
	if typ > metricHistogram {
		return statusBadArgument
	}
	name, ok := readString(mod, uint32(p[1]), uint32(p[2]))
	if !ok {
		return statusInvalidMemoryAccess
	}
	id := 0
	for i, m := range h.metrics {
		if m.name == name && m.typ == typ {
			id = i + 1
		}
	}
	if id == 0 {
		h.metrics = append(h.metrics, &metric{name: name, typ: typ})
		id = len(h.metrics)
	}
	if !writeU32(mod, uint32(p[3]), uint32(id)) {
		return statusInvalidMemoryAccess
	}
	return statusOK
}

func (h *Host) metric(id uint64) *metric {
	if id == 0 || id > uint64(len(h.metrics)) {
		return nil
	}
	return h.metrics[id-1]
}

// proxy_increment_metric(id, offset i64): counters only go up; histograms
// cannot be incremented.
func (h *Host) incrementMetric(_ api.Module, p []uint64) uint32 {
	m := h.metric(p[0])
	if m == nil {
		return statusNotFound
	}
	offset := int64(p[1])
	switch {
	case m.typ == metricHistogram, m.typ == metricCounter && offset < 0:
		return statusBadArgument
	}
	m.value += uint64(offset)
	return statusOK
}

// proxy_record_metric(id, value u64): adds to a counter, sets a gauge,
// records into a histogram (kept as the last value).
func (h *Host) recordMetric(_ api.Module, p []uint64) uint32 {
	m := h.metric(p[0])
	if m == nil {
		return statusNotFound
	}
	if m.typ == metricCounter {
		m.value += p[1]
	} else {
		m.value = p[1]
	}
	return statusOK
}

// proxy_get_metric(id, value_ptr)
func (h *Host) getMetric(mod api.Module, p []uint64) uint32 {
	m := h.metric(p[0])
	switch {
	case m == nil:
		return statusNotFound
	case m.typ == metricHistogram:
		return statusBadArgument
	case !writeU64(mod, uint32(p[1]), m.value):
		return statusInvalidMemoryAccess
	}
	return statusOK
}

// propertyKey turns a property path (segments separated by NUL bytes) into
// the dotted form of Options.Properties and FilterState.
func propertyKey(path string) string { return strings.ReplaceAll(path, "\x00", ".") }

// proxy_get_property(path, path_size, value_ptr_ptr, value_size_ptr): what
// the effective stream set (Envoy's filter state), else Options.Properties,
// else NotFound.
func (h *Host) getProperty(mod api.Module, p []uint64) uint32 {
	path, ok := readString(mod, uint32(p[0]), uint32(p[1]))
	if !ok {
		return statusInvalidMemoryAccess
	}
	key := propertyKey(path)
	v, found := h.filterState(h.effective)[key]
	if !found {
		v, found = h.opts.Properties[key]
	}
	if !found {
		return statusNotFound
	}
	return h.returnBytes(mod, v, uint32(p[2]), uint32(p[3]))
}

// proxy_set_property(path, path_size, value, value_size)
func (h *Host) setProperty(mod api.Module, p []uint64) uint32 {
	path, ok1 := readString(mod, uint32(p[0]), uint32(p[1]))
	value, ok2 := readBytes(mod, uint32(p[2]), uint32(p[3]))
	if !ok1 || !ok2 {
		return statusInvalidMemoryAccess
	}
	h.filterState(h.effective)[propertyKey(path)] = value
	return statusOK
}

// filterState is the property map set_property writes on a context.
func (h *Host) filterState(id uint32) map[string][]byte {
	if s := h.streams[id]; s != nil {
		return s.filterState
	}
	return h.rootFilterState
}
