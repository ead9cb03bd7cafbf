//go:build wasip1 && hostabi

package internal

// The proxy_on_* callbacks the host calls, exported with //go:wasmexport
// (the SDK marks its handlers with TinyGo's //export, which upstream Go
// ignores). Each one converts the ABI's i32 arguments and calls the SDK's
// handler. A //go:wasmexport directive must sit directly above its func.
//
// Only the callbacks the filter uses are exported: Envoy does not call a
// callback a module lacks, and every call into the Go runtime costs a few
// microseconds inside V8 — on_response_headers alone is one more call per
// request, on_*_body one more per body chunk. callbacks_all.go (build tag
// hostabi_all) exports the rest, for a filter that needs them.

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

//go:wasmexport proxy_on_request_headers
func proxyOnRequestHeadersExport(contextID, numHeaders, endOfStream uint32) uint32 {
	return uint32(proxyOnRequestHeaders(contextID, int(numHeaders), endOfStream != 0))
}

//go:wasmexport proxy_on_http_call_response
func proxyOnHttpCallResponseExport(rootContextID, calloutID, numHeaders, bodySize, numTrailers uint32) {
	proxyOnHttpCallResponse(rootContextID, calloutID, int(numHeaders), int(bodySize), int(numTrailers))
}
