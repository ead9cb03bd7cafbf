package wasmhost

import "strconv"

// Values of the proxy-wasm ABI (v0.2.1) that cross the host-module boundary.

// Status codes returned by host functions (proxy_result_t).
const (
	statusOK                  = 0
	statusNotFound            = 1
	statusBadArgument         = 2
	statusSerializationFailed = 3
	statusCASMismatch         = 8
	statusInvalidMemoryAccess = 11
	statusUnimplemented       = 12
)

// Header map types.
const (
	mapRequestHeaders           = 0
	mapRequestTrailers          = 1
	mapResponseHeaders          = 2
	mapResponseTrailers         = 3
	mapHTTPCallResponseHeaders  = 6
	mapHTTPCallResponseTrailers = 7
)

// Buffer types.
const (
	bufferRequestBody          = 0
	bufferResponseBody         = 1
	bufferHTTPCallResponseBody = 4
	bufferVMConfiguration      = 6
	bufferPluginConfiguration  = 7
)

// Stream types of proxy_continue_stream and proxy_close_stream.
const (
	streamRequest  = 0
	streamResponse = 1
)

// Metric types of proxy_define_metric.
const (
	metricCounter   = 0
	metricGauge     = 1
	metricHistogram = 2
)

// actionContinue is what proxy_on_request_headers returns to let the request
// go on; anything else (1, Pause) holds it.
const actionContinue = 0

// LogLevel is the level of a proxy_log message.
type LogLevel uint32

// The log levels, as the ABI numbers them.
const (
	LogTrace LogLevel = iota
	LogDebug
	LogInfo
	LogWarn
	LogError
	LogCritical
)

func (l LogLevel) String() string {
	switch l {
	case LogTrace:
		return "trace"
	case LogDebug:
		return "debug"
	case LogInfo:
		return "info"
	case LogWarn:
		return "warn"
	case LogError:
		return "error"
	case LogCritical:
		return "critical"
	}
	return "level(" + strconv.Itoa(int(l)) + ")"
}
