package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// statList renders stats as `name` value, sorted by name.
func statList(m map[string]int64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	kv := make([]string, 0, len(keys))
	for _, k := range keys {
		kv = append(kv, fmt.Sprintf("`%s` %d", k, m[k]))
	}
	return strings.Join(kv, ", ")
}

func thousands(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	var out []byte
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

func firstLine(s string, max int) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > max {
		s = s[:max-3] + "..."
	}
	return s
}

func orNA(s string) string {
	if s == "" {
		return "n/a"
	}
	return s
}

func shortEnvoy(v string) string {
	s, _, _ := strings.Cut(v, " ")
	return orNA(s)
}

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// table prints rows in aligned columns, numbers right-aligned.
type table struct {
	rows  [][]string
	right []bool
}

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) print(w io.Writer) {
	width := map[int]int{}
	for _, row := range t.rows {
		for i, c := range row {
			if n := len([]rune(c)); n > width[i] {
				width[i] = n
			}
		}
	}
	for _, row := range t.rows {
		var line strings.Builder
		line.WriteString("  ")
		for i, c := range row {
			pad := strings.Repeat(" ", width[i]-len([]rune(c)))
			if i < len(t.right) && t.right[i] {
				line.WriteString(pad + c)
			} else if i == len(row)-1 {
				line.WriteString(c)
			} else {
				line.WriteString(c + pad)
			}
			if i < len(row)-1 {
				line.WriteString("  ")
			}
		}
		fmt.Fprintln(w, strings.TrimRight(line.String(), " "))
	}
}
