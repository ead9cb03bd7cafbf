//go:build wasip1 && hostabi && !hostabi_all

package internal

// proxy_on_log and proxy_on_done are not exported (see callbacks_all.go):
// Envoy calls each of them at the end of every stream, and a call into the
// Go runtime costs a few microseconds. The host treats a missing
// proxy_on_done as "done", which is what the SDK answers for every stream
// and for a plugin whose OnPluginDone returns true (the filter's). What
// the SDK's proxy_on_log delivers, OnHttpStreamDone, is delivered here
// from proxy_on_delete, the one end-of-stream call kept: at the same point
// of the stream's end for a filter that, like this one, neither logs nor
// reads the response.
//
//go:wasmexport proxy_on_delete
func proxyOnDeleteExport(contextID uint32) {
	if _, ok := currentState.httpContexts[contextID]; ok {
		proxyOnLog(contextID)
	}
	proxyOnDelete(contextID)
}
