// Command noop is the benchmark's setup (n): a proxy-wasm HTTP filter that
// does nothing. OnHttpRequestHeaders returns Continue and nothing else runs.
//
// It is written with the same SDK (proxy-wasm-go-sdk v0.24.0) and built by
// cmd/wasmbuild with the same binding (hostabi/) and flags as the filter:
//
//	go run ./cmd/wasmbuild -pkg ./bench/noop -o build/noop.wasm
//
// so what Envoy pays for it (module compile time, memory, the calls into the
// Go runtime on every request) is the floor of any upstream-Go proxy-wasm
// filter here, and edgejwt's figures minus this one's are what the JWT work
// itself costs.
package main

import (
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/types"
)

func main() {}

func init() { proxywasm.SetVMContext(&vmContext{}) }

type vmContext struct{ types.DefaultVMContext }

func (*vmContext) NewPluginContext(uint32) types.PluginContext { return &pluginContext{} }

type pluginContext struct{ types.DefaultPluginContext }

func (*pluginContext) NewHttpContext(uint32) types.HttpContext { return &httpContext{} }

type httpContext struct{ types.DefaultHttpContext }

func (*httpContext) OnHttpRequestHeaders(int, bool) types.Action { return types.ActionContinue }
