package main

// runtimeNetpoll keeps the Go runtime from calling WASI poll_oneoff when
// there is nothing to poll.
//
// After every stop-the-world (each GC cycle has two), once a timer has ever
// been armed (the GC's background scavenger arms one when it gets to run:
// seen in Envoy under load, and in wasmtest with GODEBUG=gcstoptheworld=1),
// the runtime calls
// netpoll(0): a poll_oneoff with one clock subscription of timeout zero and
// no file descriptors. The filter has no file descriptors. Envoy 1.36-1.38
// refuse poll_oneoff inside a callback ("restricted_callback") or answer
// ENOSYS, and the runtime treats either as fatal, so the VM dies after a
// few thousand requests; Envoy 1.39+ answer "no events" at once. A poll of
// no descriptors that may not wait can only answer "no events", so the
// patched runtime answers it itself, without the host: the same result as
// on 1.39+, one host call fewer per stop-the-world, and nothing else
// changes. A poll that may wait (delay > 0, only reached when a callback
// blocks, which the filter never does) still goes to the host, as does
// usleep: a filter that sleeps fails on every host instead of spinning on
// some.
var runtimeNetpoll = patch{
	name: "runtime netpoll without descriptors",
	file: "runtime/netpoll_wasip1.go",
	reviewed: []string{
		"5462ad1c05a38ba052d77b3795fb284e2606471585ef5faef4f99cc27f400082", // go1.26.2 - go1.26.8
	},
	edits: []edit{{
		old: `	if len(pollsubs) == 0 {
		unlock(&mtx)
		return gList{}, 0
	}
`,
		new: `	// edgejwt build patch (cmd/wasmbuild): with no descriptor to poll
	// and no time to wait there is nothing to ask the host.
	if len(pollsubs) == 0 || delay == 0 && len(pollsubs) == 1 {
		unlock(&mtx)
		return gList{}, 0
	}
`,
	}},
}

// gjsonModifiers leaves gjson's built-in path modifiers (@pretty, @ugly,
// @valid, ...) out of the module.
//
// gjson registers them in a map built by its init function, so the linker
// keeps every modifier, and through @pretty github.com/tidwall/pretty and
// encoding/json (reflection-based decoding, its type tables): about 0.7 MB
// of the module, which Envoy compiles at every start. The filter never uses
// a modifier: every path it builds escapes '@', and the build also sets
// gjson's own disableModifiers switch, so a path that starts with '@' is a
// plain member name, as gjson documents for that switch.
var gjsonModifiers = patch{
	name: "gjson without built-in modifiers",
	file: "gjson.go",
	reviewed: []string{
		"28e9f786713248e833ed2af80a87c002eb17ff0766d69002c3bd83c62d9d74c1", // v1.20.2
	},
	edits: []edit{{old: `	stockModifiers = map[string]func(json, arg string) string{
		"pretty":  modPretty,
		"ugly":    modUgly,
		"reverse": modReverse,
		"this":    modThis,
		"flatten": modFlatten,
		"join":    modJoin,
		"valid":   modValid,
		"keys":    modKeys,
		"values":  modValues,
		"tostr":   modToStr,
		"fromstr": modFromStr,
		"group":   modGroup,
		"dig":     modDig,
	}
`,
		new: `	// edgejwt build patch (cmd/wasmbuild): no built-in modifiers.
	stockModifiers = map[string]func(json, arg string) string{}
`,
	}},
}

// cryptoRSA makes two changes to crypto/rsa, in one file.
//
// It keeps fmt out of the module. crypto/rsa builds one error, for keys
// under 1024 bits, with fmt.Errorf, and every signature check reaches that
// function. Through it the whole of fmt stays in the module, with
// reflection-based printing, fmtsort and reflect's method calls: 0.3 MB, a
// tenth of what Envoy compiles at start for the RSA-only build. The filter
// refuses keys under 2048 bits when it reads them, so the error never
// happens here; the patch builds the very same text with strconv.Itoa.
//
// And it keeps a public key's precomputation. Every verification turns
// the *PublicKey into the FIPS module's key, and bigmod.NewModulus
// computes R*R mod N for Montgomery multiplication each time: about a
// fifth of an RS256 verification natively and more inside Wasm, where
// 64-bit multiplies are emulated. The filter verifies many tokens with the
// same few keys, so the patch remembers the FIPS key in the PublicKey on
// first use, as crypto/rsa already does for a PrivateKey (Precomputed).
// The FIPS key is immutable, and N and E of a PublicKey the filter holds
// never change after it is made (verifier.RSAKey makes it once per key).
var cryptoRSA = patch{
	name: "crypto/rsa without fmt, with public key precomputation",
	file: "crypto/rsa/rsa.go",
	reviewed: []string{
		"648123c00aa7c017facd2e5a8d5c207b6fdd3534a088bda64307a633809c14f0", // go1.26.8
	},
	edits: []edit{
		{old: "\t\"fmt\"\n", new: "\t\"strconv\"\n\t\"sync/atomic\"\n"},
		{
			old: `return fmt.Errorf("crypto/rsa: %d-bit keys are insecure (see https://go.dev/pkg/crypto/rsa#hdr-Minimum_key_size)", size)`,
			new: `return errors.New("crypto/rsa: " + strconv.Itoa(size) + "-bit keys are insecure (see https://go.dev/pkg/crypto/rsa#hdr-Minimum_key_size)")`,
		},
		{
			old: `type PublicKey struct {
	N *big.Int // modulus
	E int      // public exponent
}
`,
			new: `type PublicKey struct {
	N *big.Int // modulus
	E int      // public exponent

	// edgejwt build patch (cmd/wasmbuild): the FIPS module's key, made on
	// first use; N and E must not change after that.
	fips atomic.Pointer[rsa.PublicKey]
}
`,
		},
		{
			old: `func fipsPublicKey(pub *PublicKey) (*rsa.PublicKey, error) {
	N, err := bigmod.NewModulus(pub.N.Bytes())
	if err != nil {
		return nil, err
	}
	return &rsa.PublicKey{N: N, E: pub.E}, nil
}
`,
			new: `func fipsPublicKey(pub *PublicKey) (*rsa.PublicKey, error) {
	if k := pub.fips.Load(); k != nil {
		return k, nil
	}
	N, err := bigmod.NewModulus(pub.N.Bytes())
	if err != nil {
		return nil, err
	}
	k := &rsa.PublicKey{N: N, E: pub.E}
	pub.fips.Store(k)
	return k, nil
}
`,
		},
	},
}

// mathBigScan keeps fmt out of the default build.
//
// math/big formats one panic message, for a number base outside 2..62,
// with fmt.Sprintf, in the code that reads numbers from text. crypto/elliptic
// reads the P-224 parameters that way when it sets up its curves (the
// filter uses P-256, P-384 and P-521 for ES256/384/512), so the message
// kept the whole of fmt in the module, and with it *big.Int's Format
// method, which encoding/asn1's reflection keeps reachable once fmt is
// there: about 0.2 MB of what Envoy compiles at every start. The base is a
// constant in every call the filter reaches; the patch builds the same
// text with strconv.Itoa.
var mathBigScan = patch{
	name: "math/big without fmt",
	file: "math/big/natconv.go",
	reviewed: []string{
		"a5ba99ff1e8e0fee8ff50958a0360ad0516eee7b7208d965e10f9b99e0289820", // go1.26.8
	},
	edits: []edit{
		{old: "\t\"fmt\"\n", new: "\t\"strconv\"\n"},
		{
			old: `panic(fmt.Sprintf("invalid number base %d", base))`,
			new: `panic("invalid number base " + strconv.Itoa(base))`,
		},
	},
}
