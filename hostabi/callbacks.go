//go:build wasip1 && hostabi

package internal

import "github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/types"

// The proxy_on_* callbacks the host calls, exported with //go:wasmexport
// (the SDK marks its handlers with TinyGo's //export, which upstream Go
// ignores). Each one converts the ABI's i32 arguments and calls the SDK's
// handler. A //go:wasmexport directive must sit directly above its func.

func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

//go:wasmexport proxy_abi_version_0_2_0
func proxyABIVersionExport() { proxyABIVersion() }

//go:wasmexport proxy_on_context_create
func proxyOnContextCreateExport(contextID, parentContextID uint32) {
	proxyOnContextCreate(contextID, parentContextID)
}

//go:wasmexport proxy_on_vm_start
func proxyOnVMStartExport(rootContextID, vmConfigurationSize uint32) uint32 {
	return b2u(bool(proxyOnVMStart(rootContextID, int(vmConfigurationSize))))
}

//go:wasmexport proxy_on_configure
func proxyOnConfigureExport(rootContextID, pluginConfigurationSize uint32) uint32 {
	return b2u(bool(proxyOnConfigure(rootContextID, int(pluginConfigurationSize))))
}

//go:wasmexport proxy_on_tick
func proxyOnTickExport(rootContextID uint32) { proxyOnTick(rootContextID) }

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

//go:wasmexport proxy_on_request_headers
func proxyOnRequestHeadersExport(contextID, numHeaders, endOfStream uint32) uint32 {
	return uint32(proxyOnRequestHeaders(contextID, int(numHeaders), endOfStream != 0))
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

//go:wasmexport proxy_on_http_call_response
func proxyOnHttpCallResponseExport(rootContextID, calloutID, numHeaders, bodySize, numTrailers uint32) {
	proxyOnHttpCallResponse(rootContextID, calloutID, int(numHeaders), int(bodySize), int(numTrailers))
}

//go:wasmexport proxy_on_log
func proxyOnLogExport(contextID uint32) { proxyOnLog(contextID) }

//go:wasmexport proxy_on_done
func proxyOnDoneExport(contextID uint32) uint32 { return b2u(proxyOnDone(contextID)) }

//go:wasmexport proxy_on_delete
func proxyOnDeleteExport(contextID uint32) { proxyOnDelete(contextID) }
