package errdetail

import (
	"errors"
	"fmt"
	"testing"
)

func TestLikeErrorf(t *testing.T) {
	sentinel := errors.New("no matching signing key")
	for _, detail := range []string{"", "kid \"a\" unknown", "a: b: c"} {
		got := New(sentinel, detail)
		want := fmt.Errorf("%w: %s", sentinel, detail)
		if got.Error() != want.Error() {
			t.Errorf("Error() = %q, want %q", got.Error(), want.Error())
		}
		if !errors.Is(got, sentinel) {
			t.Errorf("errors.Is(%v, sentinel) = false", got)
		}
		if errors.Is(got, errors.New(sentinel.Error())) {
			t.Errorf("errors.Is matches another error with the same text")
		}
	}
}
