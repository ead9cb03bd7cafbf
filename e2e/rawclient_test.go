package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// Raw clients send exactly the bytes a test asks for: a request line that
// net/http would clean, repeated cookie fields, any :path. Each opens one
// connection for one request.

// rawAnswer is what a raw request got.
type rawAnswer struct {
	status int
	header http.Header
	body   []byte
}

// rawHTTP1 sends "METHOD TARGET HTTP/1.1" with the header lines given
// ("Name: value"), Host and Connection: close added, then body (which the
// lines must announce).
func rawHTTP1(addr, method, target, body string, lines ...string) (rawAnswer, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return rawAnswer{}, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	var b strings.Builder
	b.WriteString(method + " " + target + " HTTP/1.1\r\nHost: e2e.example\r\nConnection: close\r\n")
	for _, l := range lines {
		b.WriteString(l + "\r\n")
	}
	b.WriteString("\r\n")
	b.WriteString(body)
	if _, err := io.WriteString(c, b.String()); err != nil {
		return rawAnswer{}, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return rawAnswer{}, err
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	return rawAnswer{status: resp.StatusCode, header: resp.Header, body: got}, err
}

// rawH2C sends one HTTP/2 request with prior knowledge: the header fields
// in the order given (pseudo-headers first, as HTTP/2 requires), each its
// own field, HPACK-encoded as they are, then body in a DATA frame when it
// is not empty.
func rawH2C(addr string, fields [][2]string, body string) (rawAnswer, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return rawAnswer{}, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(c, http2.ClientPreface); err != nil {
		return rawAnswer{}, err
	}
	fr := http2.NewFramer(c, c)
	if err := fr.WriteSettings(); err != nil {
		return rawAnswer{}, err
	}
	var block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	for _, f := range fields {
		if err := enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]}); err != nil {
			return rawAnswer{}, err
		}
	}
	if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block.Bytes(), EndStream: body == "", EndHeaders: true}); err != nil {
		return rawAnswer{}, err
	}
	if body != "" {
		if err := fr.WriteData(1, true, []byte(body)); err != nil {
			return rawAnswer{}, err
		}
	}
	dec := hpack.NewDecoder(4096, nil)
	a := rawAnswer{header: http.Header{}}
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			return a, err
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				if err := fr.WriteSettingsAck(); err != nil {
					return a, err
				}
			}
		case *http2.HeadersFrame:
			hs, err := dec.DecodeFull(f.HeaderBlockFragment())
			if err != nil {
				return a, err
			}
			for _, h := range hs {
				if h.Name == ":status" {
					fmt.Sscan(h.Value, &a.status)
					continue
				}
				a.header.Add(h.Name, h.Value)
			}
			if f.StreamEnded() {
				return a, nil
			}
		case *http2.DataFrame:
			a.body = append(a.body, f.Data()...)
			if f.StreamEnded() {
				return a, nil
			}
		case *http2.RSTStreamFrame:
			return a, fmt.Errorf("stream reset: %v", f.ErrCode)
		case *http2.GoAwayFrame:
			if f.StreamID < 1 {
				return a, fmt.Errorf("connection refused the stream: GOAWAY %v %q", f.ErrCode, f.DebugData())
			}
		}
	}
}
