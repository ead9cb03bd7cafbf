package authn

import (
	"reflect"
	"testing"
)

func TestRewrite(t *testing.T) {
	headers := [][2]string{
		{":method", "GET"}, {":path", "/r?access_token=t&a=1"}, {":authority", "api.example"},
		{"authorization", "Bearer t"}, {"x-forwarded-for", "10.0.0.1"}, {"x_jwt_sub", "admin"},
		{"x-forwarded-for", "10.0.0.2"}, {"x-jwt-sub", "forged"}, {"accept", "*/*"},
	}
	d := &Decision{
		Outcome: Allow,
		Remove:  []string{"authorization"},
		Set:     [][2]string{{":path", "/r?a=1"}, {"x-jwt-sub", "alice"}},
	}
	got := Rewrite(nil, headers, d, []string{"x_jwt_sub"})
	want := [][2]string{
		{":method", "GET"}, {":authority", "api.example"}, {"x-forwarded-for", "10.0.0.1"},
		{"x-forwarded-for", "10.0.0.2"}, {"accept", "*/*"}, {":path", "/r?a=1"}, {"x-jwt-sub", "alice"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Rewrite =\n%q\nwant\n%q", got, want)
	}
	if n := Changes(d, []string{"x_jwt_sub"}); n != 4 {
		t.Errorf("Changes = %d, want 4", n)
	}
	if n := testing.AllocsPerRun(100, func() { got = Rewrite(got[:0], headers, d, nil) }); n != 0 {
		t.Errorf("Rewrite allocates %v times with room in dst", n)
	}
}
