package jwkscache

import "strings"

// Keys that must never be trusted, whatever the issuer says: refused at
// ingest (that key, not the whole set), logged loudly and counted.

// privateMembers are the JWK members of private and symmetric keys (RFC
// 7518 sections 6.2.2, 6.3.2 and 6.4.1). A JWKS served for verification
// that carries one has published the issuer's signing secret: anyone can
// sign with it, so the key proves nothing.
var privateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// hasPrivateMembers names the private members a JWK carries, or "".
func hasPrivateMembers(has func(name string) bool) string {
	var found []string
	for _, m := range privateMembers {
		if has(m) {
			found = append(found, m)
		}
	}
	return strings.Join(found, ", ")
}

// rocaPrimes and rocaGenerator give the ROCA fingerprint (CVE-2017-15361,
// "The Return of Coppersmith's Attack", Nemec et al., CCS 2017): the primes
// of RSA keys made by Infineon's flawed library are k*M + (65537^a mod M),
// so for each small prime r below, the modulus mod r lies in the subgroup
// of Z_r* that 65537 generates. A modulus with that property for every r
// is, with overwhelming likelihood, such a key, and factorable.
var rocaPrimes = [...]uint32{3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73,
	79, 83, 89, 97, 101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167}

const rocaGenerator = 65537

// rocaSubgroups[i] has bit x set when x is a power of 65537 mod rocaPrimes[i].
var rocaSubgroups = func() (out [len(rocaPrimes)][3]uint64) {
	for i, r := range rocaPrimes {
		g := uint32(rocaGenerator % r)
		for x := uint32(1); ; {
			out[i][x/64] |= 1 << (x % 64)
			if x = x * g % r; x == 1 {
				break
			}
		}
	}
	return out
}()

// hasROCAFingerprint reports whether the big-endian modulus n has the ROCA
// fingerprint.
func hasROCAFingerprint(n []byte) bool {
	for i, r := range rocaPrimes {
		x := mod(n, r)
		if rocaSubgroups[i][x/64]&(1<<(x%64)) == 0 {
			return false
		}
	}
	return true
}

// smallPrimes are the primes below 1000: a modulus divisible by one of
// them is factored by trial division.
var smallPrimes = func() (out []uint32) {
	for c := uint32(2); c < 1000; c++ {
		prime := true
		for _, p := range out {
			if c%p == 0 {
				prime = false
				break
			}
		}
		if prime {
			out = append(out, c)
		}
	}
	return out
}()

// smallFactor returns a prime below 1000 that divides the big-endian
// modulus n, or 0.
func smallFactor(n []byte) uint32 {
	for _, p := range smallPrimes {
		if mod(n, p) == 0 {
			return p
		}
	}
	return 0
}

// mod is the big-endian integer n modulo m (m < 2^24).
func mod(n []byte, m uint32) uint32 {
	var r uint64
	for _, b := range n {
		r = (r<<8 | uint64(b)) % uint64(m)
	}
	return uint32(r)
}
