package authn

// Rewrite appends to dst the request headers as the upstream is to get
// them after an Allow: headers without those named in drop (look-alikes of
// the outputs) and in d.Remove, and without those d.Set gives new values,
// which follow, in d.Set's order. The rest keep their order and repeats.
// It lets the filter send every change in one host call
// (proxy_set_header_map_pairs) instead of one per header.
func Rewrite(dst, headers [][2]string, d *Decision, drop []string) [][2]string {
	for _, h := range headers {
		if contains(drop, h[0]) || contains(d.Remove, h[0]) || setsName(d.Set, h[0]) {
			continue
		}
		dst = append(dst, h)
	}
	return append(dst, d.Set...)
}

func setsName(set [][2]string, name string) bool {
	for _, kv := range set {
		if kv[0] == name {
			return true
		}
	}
	return false
}

// Changes is how many headers an Allow changes: removed, dropped and set.
func Changes(d *Decision, drop []string) int { return len(drop) + len(d.Remove) + len(d.Set) }
