// Command wasmsize breaks a Go-built WebAssembly module down by package:
// the bytes of the code section per package (from the module's "name"
// custom section, which the Go linker always writes), and the sizes of the
// other sections and data segments. `make size` runs it on the built filter.
//
//	go run ./cmd/wasmsize [-top N] [-by package|func] module.wasm
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/edgejwt/edgejwt/internal/wasmfile"
)

func main() {
	top := flag.Int("top", 40, "rows to print (0: all)")
	by := flag.String("by", "package", "group code by package or func")
	markdown := flag.Bool("md", false, "print Markdown tables")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: wasmsize [-top N] [-by package|func] [-md] module.wasm")
		os.Exit(2)
	}
	b, err := os.ReadFile(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	m, err := wasmfile.Parse(b)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", flag.Arg(0), err)
		os.Exit(1)
	}
	var group func(string) string
	switch *by {
	case "package":
		group = wasmfile.PackageOf
	case "func":
		group = func(s string) string { return s }
	default:
		fmt.Fprintln(os.Stderr, "-by must be package or func")
		os.Exit(2)
	}
	report(os.Stdout, m, len(b), group, *top, *markdown)
}

type row struct {
	name  string
	bytes int
	funcs int
}

func report(w io.Writer, m *wasmfile.Module, total int, group func(string) string, top int, md bool) {
	t := newTable(w, md)
	t.header("section", "bytes", "share")
	for _, s := range m.Sections {
		t.row(s.Name, s.Size, pct(s.Size, total))
	}
	t.row("total", total, "100.0%")
	t.end()

	rows := map[string]*row{}
	code := 0
	for _, f := range m.Funcs {
		g := group(f.Name)
		r := rows[g]
		if r == nil {
			r = &row{name: g}
			rows[g] = r
		}
		r.bytes += f.Size
		r.funcs++
		code += f.Size
	}
	list := make([]*row, 0, len(rows))
	for _, r := range rows {
		list = append(list, r)
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].bytes != list[j].bytes {
			return list[i].bytes > list[j].bytes
		}
		return list[i].name < list[j].name
	})
	fmt.Fprintln(w)
	t = newTable(w, md)
	t.header("code by "+map[bool]string{true: "package", false: "function"}[len(list) < len(m.Funcs)], "bytes", "funcs", "share of code")
	rest, restFuncs := 0, 0
	for i, r := range list {
		if top > 0 && i >= top {
			rest += r.bytes
			restFuncs += r.funcs
			continue
		}
		t.row(r.name, r.bytes, r.funcs, pct(r.bytes, code))
	}
	if restFuncs > 0 {
		t.row(fmt.Sprintf("(%d more)", len(list)-top), rest, restFuncs, pct(rest, code))
	}
	t.row("code section bodies", code, len(m.Funcs), "100.0%")
	t.end()

	if len(m.Data) == 0 {
		return
	}
	data := 0
	for _, d := range m.Data {
		data += d.Size
	}
	fmt.Fprintln(w)
	t = newTable(w, md)
	t.header("data (initial memory, Go's layout)", "bytes", "share")
	if g, err := m.GoDataLayout(); err == nil {
		span := g.Rodata + g.Pclntab + g.Funcdata + g.NoPtrData + g.Data
		for _, r := range []struct {
			name string
			n    uint64
		}{
			{"type descriptors, strings, read-only tables", g.Rodata},
			{"pclntab: function names, line and PC-value tables", g.Pclntab},
			{"funcdata: stack maps, function lookup table", g.Funcdata},
			{"initialized variables", g.NoPtrData + g.Data},
		} {
			t.row(r.name, r.n, pct(int(r.n), int(span)))
		}
		t.row("(zero runs are left out of the data section)", int(span)-data, "")
	} else {
		fmt.Fprintln(w, "Go layout not found:", err)
	}
	t.row(fmt.Sprintf("data section: %d segments", len(m.Data)), data, "")
	t.end()
}

func pct(n, of int) string {
	if of == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(of))
}

// table prints aligned text or Markdown.
type table struct {
	md bool
	tw *tabwriter.Writer
	w  io.Writer
}

func newTable(w io.Writer, md bool) *table {
	return &table{md: md, w: w, tw: tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)}
}

func (t *table) header(cols ...string) {
	if t.md {
		fmt.Fprintf(t.w, "| %s |\n|---|%s\n", strings.Join(cols, " | "), strings.Repeat("---:|", len(cols)-1))
		return
	}
	t.row(anySlice(cols)...)
}

func anySlice(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

func (t *table) row(cols ...any) {
	if t.md {
		s := make([]string, len(cols))
		for i, c := range cols {
			s[i] = fmt.Sprint(c)
		}
		fmt.Fprintf(t.w, "| %s |\n", strings.Join(s, " | "))
		return
	}
	for i, c := range cols {
		if i == 0 {
			fmt.Fprintf(t.tw, "%v\t", c)
			continue
		}
		fmt.Fprintf(t.tw, "%v\t", c)
	}
	fmt.Fprintln(t.tw)
}

func (t *table) end() {
	if !t.md {
		t.tw.Flush()
	}
}
