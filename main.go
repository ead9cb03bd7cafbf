package main

import (
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/types"
)

func main() {}

func init() { proxywasm.SetVMContext(&vm{}) }

type vm struct{ types.DefaultVMContext }

func (*vm) NewPluginContext(uint32) types.PluginContext { return &plugin{} }

type plugin struct{ types.DefaultPluginContext }

func (*plugin) OnPluginStart(int) types.OnPluginStartStatus {
	cfg, err := proxywasm.GetPluginConfiguration()
	proxywasm.LogInfof("config %q %v", cfg, err)
	return types.OnPluginStartStatusOK
}

func (*plugin) NewHttpContext(uint32) types.HttpContext { return &httpCtx{} }

type httpCtx struct{ types.DefaultHttpContext }

func (*httpCtx) OnHttpRequestHeaders(int, bool) types.Action {
	v, err := proxywasm.GetHttpRequestHeader("authorization")
	proxywasm.LogInfof("auth %q %v", v, err)
	if v == "" {
		proxywasm.SendHttpResponse(401, [][2]string{{"content-type", "application/json"}}, []byte(`{"error":"No token provided"}`), -1)
		return types.ActionPause
	}
	return types.ActionContinue
}
