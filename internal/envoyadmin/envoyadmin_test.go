package envoyadmin

import (
	"maps"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestStats(t *testing.T) {
	var query string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/stats" {
			http.NotFound(w, r)
			return
		}
		query = r.URL.RawQuery
		_, _ = w.Write([]byte("wasmcustom.edgejwt.allowed: 12\n" +
			"wasm.wasm_vm_count: 3\n" +
			"http.ingress.downstream_rq_time: P0(nan,0.5) P25(nan,1.05)\n" +
			"no separator here\n"))
	}))
	defer srv.Close()

	got, err := Stats(srv.Client(), srv.URL+"/", "^wasm", "Counters")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"wasmcustom.edgejwt.allowed": 12, "wasm.wasm_vm_count": 3}
	if !maps.Equal(got, want) {
		t.Errorf("Stats = %v, want %v (histograms and other lines left out)", got, want)
	}
	if query != "filter=%5Ewasm&type=Counters" {
		t.Errorf("query %q", query)
	}
	if _, err := Stats(srv.Client(), srv.URL, "", ""); err != nil || query != "" {
		t.Errorf("no filter: err %v, query %q", err, query)
	}
	if _, err := Stats(srv.Client(), srv.URL+"/nothing", "", ""); err == nil {
		t.Error("a 404 gave no error")
	}
}
