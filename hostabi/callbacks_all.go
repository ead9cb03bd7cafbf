//go:build wasip1 && hostabi && hostabi_all

package internal

import "github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/types"

// The callbacks this filter does not use (see callbacks.go): queues, TCP
// streams, request bodies and trailers, the response side, and the
// end-of-stream calls proxy_on_log and proxy_on_done. Built only with the
// hostabi_all tag, which also leaves proxy_on_delete to the SDK alone.

//go:wasmexport proxy_on_queue_ready
func proxyOnQueueReadyExport(rootContextID, queueID uint32) {
	proxyOnQueueReady(rootContextID, queueID)
}

//go:wasmexport proxy_on_new_connection
func proxyOnNewConnectionExport(contextID uint32) uint32 {
	return uint32(proxyOnNewConnection(contextID))
}

//go:wasmexport proxy_on_downstream_data
func proxyOnDownstreamDataExport(contextID, dataSize, endOfStream uint32) uint32 {
	return uint32(proxyOnDownstreamData(contextID, int(dataSize), endOfStream != 0))
}

//go:wasmexport proxy_on_downstream_connection_close
func proxyOnDownstreamConnectionCloseExport(contextID, peerType uint32) {
	proxyOnDownstreamConnectionClose(contextID, types.PeerType(peerType))
}

//go:wasmexport proxy_on_upstream_data
func proxyOnUpstreamDataExport(contextID, dataSize, endOfStream uint32) uint32 {
	return uint32(proxyOnUpstreamData(contextID, int(dataSize), endOfStream != 0))
}

//go:wasmexport proxy_on_upstream_connection_close
func proxyOnUpstreamConnectionCloseExport(contextID, peerType uint32) {
	proxyOnUpstreamConnectionClose(contextID, types.PeerType(peerType))
}

//go:wasmexport proxy_on_request_body
func proxyOnRequestBodyExport(contextID, bodySize, endOfStream uint32) uint32 {
	return uint32(proxyOnRequestBody(contextID, int(bodySize), endOfStream != 0))
}

//go:wasmexport proxy_on_request_trailers
func proxyOnRequestTrailersExport(contextID, numTrailers uint32) uint32 {
	return uint32(proxyOnRequestTrailers(contextID, int(numTrailers)))
}

//go:wasmexport proxy_on_response_headers
func proxyOnResponseHeadersExport(contextID, numHeaders, endOfStream uint32) uint32 {
	return uint32(proxyOnResponseHeaders(contextID, int(numHeaders), endOfStream != 0))
}

//go:wasmexport proxy_on_response_body
func proxyOnResponseBodyExport(contextID, bodySize, endOfStream uint32) uint32 {
	return uint32(proxyOnResponseBody(contextID, int(bodySize), endOfStream != 0))
}

//go:wasmexport proxy_on_response_trailers
func proxyOnResponseTrailersExport(contextID, numTrailers uint32) uint32 {
	return uint32(proxyOnResponseTrailers(contextID, int(numTrailers)))
}

//go:wasmexport proxy_on_log
func proxyOnLogExport(contextID uint32) { proxyOnLog(contextID) }

//go:wasmexport proxy_on_done
func proxyOnDoneExport(contextID uint32) uint32 { return b2u(proxyOnDone(contextID)) }

//go:wasmexport proxy_on_delete
func proxyOnDeleteExport(contextID uint32) { proxyOnDelete(contextID) }
