package docs

// The link check of the manual: README.md and docs/*.md.
//
//   - A relative link must name a file or directory of the repository,
//     relative to the file that holds the link ("/x" is relative to the
//     repository root, as on GitHub), spelled with the file's exact case.
//   - An #anchor, in the same file or as file.md#anchor, must be the anchor
//     GitHub gives one of the target file's headings (githubSlug: lower
//     case, punctuation but '-' and '_' removed, each space a '-', repeated
//     headings -1, -2, ...) or an explicit <a name|id="...">. Anchors into
//     other files are accepted only as GitHub line anchors (#L10, #L10-L20).
//   - http and https links are not fetched (the tests run without a
//     network); they must parse, with a host. mailto: is accepted; other
//     schemes and protocol-relative links are refused.
//   - Fenced code blocks (``` and ~~~), indented code blocks, code spans
//     and HTML comments are not Markdown: links in them are not links.
//
// To check another revision's README against today's tree:
//
//	EDGEJWT_DOCS_REV=HEAD~1 go test ./docs -run TestRevisionREADME -v

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// repoRoot is the repository root as seen from this package's directory,
// where go test runs its tests.
const repoRoot = ".."

// manualFiles lists README.md and docs/*.md, as slash paths relative to the
// repository root.
func manualFiles(t *testing.T) []string {
	t.Helper()
	files := []string{"README.md"}
	docs, err := filepath.Glob(filepath.Join(repoRoot, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(docs)
	for _, d := range docs {
		files = append(files, "docs/"+filepath.Base(d))
	}
	return files
}

// TestManualLinks checks every link of README.md and docs/*.md.
func TestManualLinks(t *testing.T) {
	c := newChecker(repoRoot)
	links := 0
	for _, f := range manualFiles(t) {
		src, err := os.ReadFile(filepath.Join(repoRoot, filepath.FromSlash(f)))
		if err != nil {
			t.Fatal(err)
		}
		d, probs := c.check(f, src)
		links += len(d.links)
		for _, p := range probs {
			t.Error(p)
		}
	}
	t.Logf("%d links checked", links)
}

// TestManualConnected: the README links to every page of docs/, and every
// page links back to the README, so that nothing in the manual is an
// orphan.
func TestManualConnected(t *testing.T) {
	c := newChecker(repoRoot)
	linked := func(from string) map[string]bool {
		d, err := c.doc(from)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for _, l := range d.links {
			if p, ok := localPath(from, l.target); ok {
				out[p] = true
			}
		}
		return out
	}
	fromReadme := linked("README.md")
	for _, f := range manualFiles(t)[1:] {
		if !fromReadme[f] {
			t.Errorf("README.md does not link to %s", f)
		}
		if !linked(f)["README.md"] {
			t.Errorf("%s does not link back to the README (../README.md)", f)
		}
	}
}

// TestRevisionREADME checks the README of another revision (git show
// $EDGEJWT_DOCS_REV:README.md) against today's tree: how the dead
// #benchmark link of the one-page manual was found.
func TestRevisionREADME(t *testing.T) {
	rev := os.Getenv("EDGEJWT_DOCS_REV")
	if rev == "" {
		t.Skip("EDGEJWT_DOCS_REV is not set")
	}
	cmd := exec.Command("git", "show", rev+":README.md")
	cmd.Dir = repoRoot
	src, err := cmd.Output()
	if err != nil {
		t.Fatalf("git show %s:README.md: %v", rev, err)
	}
	_, probs := newChecker(repoRoot).check("README.md", src)
	for _, p := range probs {
		t.Errorf("%s: %s", rev, p)
	}
}

func TestGitHubSlug(t *testing.T) {
	for _, tc := range []struct{ heading, want string }{
		{"Quick start", "quick-start"},
		{"Envoy versions tested", "envoy-versions-tested"},
		{"The key set's lifecycle", "the-key-sets-lifecycle"},
		{"Go benchmarks, native and in Wasm", "go-benchmarks-native-and-in-wasm"},
		{"The OCI image (Istio `oci://`), built without Docker", "the-oci-image-istio-oci-built-without-docker"},
		{"A rule (`jwtRules[i]`)", "a-rule-jwtrulesi"},
		{"Istio manifests (`deploy/istio/`)", "istio-manifests-deployistio"},
		{"Where the token is read, and what the upstream gets", "where-the-token-is-read-and-what-the-upstream-gets"},
		{"Decisions, and where they are checked", "decisions-and-where-they-are-checked"},
		// '-' and '_' stay; every space is a '-', so runs of them stay too.
		{"jwks_uri and max-age", "jwks_uri-and-max-age"},
		{"A & B", "a--b"},
		{"a  b", "a--b"},
		{"Istio 1.28 → Envoy 1.36", "istio-128--envoy-136"},
		{"-leading and trailing-", "-leading-and-trailing-"},
		// Markup goes, its text stays: code, links, emphasis.
		{"`make e2e-matrix`", "make-e2e-matrix"},
		{"See [the README](../README.md#quick-start)", "see-the-readme"},
		{"**Bold** and *italic* and _under_ and ~~gone~~", "bold-and-italic-and-under-and-gone"},
		{"`_method` and a_b_c", "_method-and-a_b_c"},
		{"Escaped \\_stars\\* and \\#", "escaped-_stars-and-"},
		{"<code>HTML</code> tags", "html-tags"},
		// Letters and digits of any script stay, lower-cased.
		{"Über Größe 2", "über-größe-2"},
		{"日本語 ok", "日本語-ok"},
		{"CPU-ms per 1000 req", "cpu-ms-per-1000-req"},
		{"", ""},
	} {
		if got := githubSlug(tc.heading); got != tc.want {
			t.Errorf("githubSlug(%q) = %q, want %q", tc.heading, got, tc.want)
		}
	}
}

func TestSluggerDuplicates(t *testing.T) {
	for _, tc := range []struct {
		headings, want []string
	}{
		{[]string{"Soak", "Soak", "Soak"}, []string{"soak", "soak-1", "soak-2"}},
		{[]string{"A", "A-1", "A"}, []string{"a", "a-1", "a-2"}},
		{[]string{"A", "A", "A-1"}, []string{"a", "a-1", "a-1-1"}},
		{[]string{"Go", "go", "GO!"}, []string{"go", "go-1", "go-2"}},
	} {
		s := slugger{}
		var got []string
		for _, h := range tc.headings {
			got = append(got, s.slug(h))
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("slugs of %q = %q, want %q", tc.headings, got, tc.want)
		}
	}
}

func TestParseMarkdown(t *testing.T) {
	for _, tc := range []struct {
		name, src      string
		anchors, links []string
	}{
		{
			name:    "headings and links",
			src:     "# Title\n\nSee [a](a.md) and ![img](i.png \"t\").\n\n## Part two ##\n[b](<b c.md>)\n",
			anchors: []string{"title", "part-two"},
			links:   []string{"a.md", "i.png", "b c.md"},
		},
		{
			name:    "fenced code is not Markdown",
			src:     "# A\n\n```sh\n# not a heading\n[x](dead.md)\n```\n\n~~~~\n```\n[y](dead.md)\n~~~~\n[z](ok.md)\n",
			anchors: []string{"a"},
			links:   []string{"ok.md"},
		},
		{
			name:    "unclosed fence runs to the end",
			src:     "# A\n```\n[x](dead.md)\n## B\n",
			anchors: []string{"a"},
		},
		{
			name:    "fence inside a list item",
			src:     "- item\n\n  ```yaml\n  # x\n  url: [x](dead.md)\n  ```\n- [ok](ok.md)\n",
			links:   []string{"ok.md"},
			anchors: nil,
		},
		{
			name:    "indented code is not Markdown",
			src:     "# A\n\n    # not a heading\n    [x](dead.md)\n\n\tagain [y](dead.md)\n\ntext [z](ok.md)\n",
			anchors: []string{"a"},
			links:   []string{"ok.md"},
		},
		{
			name:  "an indented line continuing a paragraph is not code",
			src:   "text\n    [z](ok.md)\n",
			links: []string{"ok.md"},
		},
		{
			name:  "indented lines inside a list item are not code",
			src:   "- item\n\n    more [z](ok.md)\n",
			links: []string{"ok.md"},
		},
		{
			name:  "code spans and comments",
			src:   "`[x](dead.md)` and ``a ` [y](dead.md)`` <!-- [c](dead.md)\n[d](dead.md) --> [z](ok.md) \\[e](dead.md)\n",
			links: []string{"ok.md"},
		},
		{
			name:    "setext headings",
			src:     "Title\n=====\n\nSub title\n---\n\n- item\n---\n",
			anchors: []string{"title", "sub-title"},
		},
		{
			name:    "repeated headings",
			src:     "## Soak\n## Soak\n",
			anchors: []string{"soak", "soak-1"},
		},
		{
			name:    "explicit anchors",
			src:     "<a name=\"old-name\"></a>\n## New name\n<a id='other'></a>\n",
			anchors: []string{"old-name", "new-name", "other"},
		},
		{
			name:  "link text with code and brackets; parentheses in the destination",
			src:   "[`make bench-go`](#go) [a [b] c](x_(y).md) [t](#x \"title (with) parens\")\n",
			links: []string{"#go", "x_(y).md", "#x"},
		},
		{
			name:  "a link across lines",
			src:   "[two\nlines](two.md)\n",
			links: []string{"two.md"},
		},
		{
			name:  "reference links",
			src:   "[a][r1] and [b][] and [R1]\n\n[r1]: one.md\n[b]: <two.md> \"title\"\n",
			links: []string{"one.md", "two.md"},
		},
		{
			name:  "autolinks",
			src:   "<https://example.com/x> and <not a link>\n",
			links: []string{"https://example.com/x"},
		},
		{
			name:  "table cells",
			src:   "| a | b |\n|---|---|\n| [x](x.md) | `a\\|b` |\n",
			links: []string{"x.md"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := parseMarkdown([]byte(tc.src))
			var anchors, links []string
			anchors = append(anchors, d.order...)
			for _, l := range d.links {
				if l.bad != "" {
					t.Errorf("line %d: %s", l.line, l.bad)
				}
				links = append(links, l.target)
			}
			if !slices.Equal(anchors, tc.anchors) {
				t.Errorf("anchors %q, want %q", anchors, tc.anchors)
			}
			if !slices.Equal(links, tc.links) {
				t.Errorf("links %q, want %q", links, tc.links)
			}
		})
	}
}

// TestCheck runs the checker on small trees: each case's README.md is
// checked, with the other files in place.
func TestCheck(t *testing.T) {
	tree := map[string]string{
		"docs/guide.md":    "# Guide\n\nBack to the [README](../README.md).\n\n## Run it\n## Run it\n",
		"docs/Upper.md":    "# Upper\n",
		"cmd/tool/main.go": "package main\n",
		"deploy/x.yaml":    "a: b\n",
	}
	for _, tc := range []struct {
		name, readme string
		want         []string // substrings of the problems, in order
	}{
		{
			name:   "good links",
			readme: "# Top\n\n[g](docs/guide.md) [r](docs/guide.md#run-it-1) [d](deploy/) [m](cmd/tool/main.go#L1-L2) [h](#top) [root](/docs/guide.md) [e](https://example.com/a?b=c#d) [mail](mailto:a@example.com) [q](docs/guide.md?plain=1#run-it) [t](#)\n",
		},
		{
			// The one-page README linked [Benchmark](#benchmark); its
			// heading was "The harness".
			name:   "the old README's dead #benchmark",
			readme: "# edgejwt\n\n`make bench` (see [Benchmark](#benchmark)).\n\n## Performance\n\n### The harness\n",
			want:   []string{`README.md:3: (#benchmark): no heading or anchor "benchmark" in README.md`},
		},
		{
			name:   "dead anchor in another file",
			readme: "# Top\n[x](docs/guide.md#run-it-2) [y](docs/guide.md#Run-it)\n",
			want:   []string{`(docs/guide.md#run-it-2): no heading or anchor "run-it-2" in docs/guide.md`, `anchors are lower case`},
		},
		{
			name:   "missing files",
			readme: "# Top\n\n[a](docs/nope.md)\n[b](docs/upper.md)\n[c](../outside.md)\n",
			want:   []string{"README.md:3: (docs/nope.md): no such file", "README.md:4: (docs/upper.md): no such file", "README.md:5: (../outside.md): leaves the repository"},
		},
		{
			name:   "anchors outside Markdown",
			readme: "# Top\n[a](deploy/#x) [b](deploy/x.yaml#spec)\n",
			want:   []string{"(deploy/#x): an anchor on a directory", "(deploy/x.yaml#spec): an anchor into a file that is not Markdown"},
		},
		{
			name:   "external links are only parsed",
			readme: "# Top\n[a](https://) [b](http://exa mple.com) [c](ftp://example.com) [d](//example.com/x) [e](https://bad_host!/x) [f](https://example.com:99999/)\n",
			want:   []string{"(https://): no host", "(http://exa mple.com)", "(ftp://example.com): scheme", "(//example.com/x): protocol-relative", `(https://bad_host!/x): bad host`, "(https://example.com:99999/): bad port"},
		},
		{
			name:   "malformed links",
			readme: "# Top\n[a](docs/guide.md\n[b]()\n[c][nowhere]\n",
			want:   []string{"README.md:2: malformed link", "README.md:3: (): empty link target", "README.md:4: reference [nowhere] is not defined"},
		},
		{
			name:   "code is not checked",
			readme: "# Top\n\n```md\n[a](dead.md)\n```\n\n    [b](#dead)\n\n`[c](dead.md)`\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			for name, body := range tree {
				p := filepath.Join(root, filepath.FromSlash(name))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(filepath.Join(root, "README.md"), []byte(tc.readme), 0o644); err != nil {
				t.Fatal(err)
			}
			c := newChecker(root)
			_, probs := c.check("README.md", []byte(tc.readme))
			// guide.md's link back must hold in every tree.
			src, _ := os.ReadFile(filepath.Join(root, "docs", "guide.md"))
			if _, more := c.check("docs/guide.md", src); len(more) > 0 {
				t.Errorf("docs/guide.md: %v", more)
			}
			var got []string
			for _, p := range probs {
				got = append(got, p.String())
			}
			if len(got) != len(tc.want) {
				t.Fatalf("problems:\n%s\nwant %d: %q", strings.Join(got, "\n"), len(tc.want), tc.want)
			}
			for i := range got {
				if !strings.Contains(got[i], tc.want[i]) {
					t.Errorf("problem %d: %s\nwant it to contain %q", i, got[i], tc.want[i])
				}
			}
		})
	}
}

// ---- the checker ----

// mdLink is one link of a Markdown file.
type mdLink struct {
	line   int
	target string // the destination, backslash escapes undone
	bad    string // set when the link itself is malformed
}

// mdDoc is what the checker needs of a Markdown file.
type mdDoc struct {
	anchors map[string]bool
	order   []string // the anchors in document order
	links   []mdLink
}

// problem is a bad link: its target is wrong, or (malformed) the link
// itself.
type problem struct {
	file      string
	line      int
	target    string
	msg       string
	malformed bool
}

func (p problem) String() string {
	if p.malformed {
		return fmt.Sprintf("%s:%d: %s", p.file, p.line, p.msg)
	}
	return fmt.Sprintf("%s:%d: (%s): %s", p.file, p.line, p.target, p.msg)
}

type checker struct {
	root string
	docs map[string]*mdDoc // parsed Markdown files, by slash path
}

func newChecker(root string) *checker { return &checker{root: root, docs: map[string]*mdDoc{}} }

// doc parses the Markdown file rel (a slash path under the root), once.
func (c *checker) doc(rel string) (*mdDoc, error) {
	if d, ok := c.docs[rel]; ok {
		return d, nil
	}
	src, err := os.ReadFile(filepath.Join(c.root, filepath.FromSlash(rel)))
	if err != nil {
		return nil, err
	}
	d := parseMarkdown(src)
	c.docs[rel] = d
	return d, nil
}

// check parses src as the file rel and checks its links.
func (c *checker) check(rel string, src []byte) (*mdDoc, []problem) {
	d := parseMarkdown(src)
	c.docs[rel] = d
	var probs []problem
	for _, l := range d.links {
		if l.bad != "" {
			probs = append(probs, problem{file: rel, line: l.line, msg: l.bad, malformed: true})
		} else if msg := c.checkTarget(rel, d, l.target); msg != "" {
			probs = append(probs, problem{file: rel, line: l.line, target: l.target, msg: msg})
		}
	}
	return d, probs
}

var (
	schemeRE     = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:`)
	lineAnchorRE = regexp.MustCompile(`^L[0-9]+(C[0-9]+)?(-L[0-9]+(C[0-9]+)?)?$`)
	hostnameRE   = regexp.MustCompile(`^(?i:[a-z0-9]([a-z0-9-]*[a-z0-9])?)(\.(?i:[a-z0-9]([a-z0-9-]*[a-z0-9])?))*\.?$`)
)

// checkTarget returns what is wrong with a link from the file rel (parsed
// as d), or "".
func (c *checker) checkTarget(rel string, d *mdDoc, target string) string {
	switch {
	case target == "":
		return "empty link target"
	case strings.HasPrefix(target, "#"):
		return anchorProblem(d, rel, target[1:])
	case strings.HasPrefix(target, "//"):
		return "protocol-relative URL: write https://"
	case schemeRE.MatchString(target):
		return externalProblem(target)
	}
	p, frag, hasFrag := strings.Cut(target, "#")
	p, _, _ = strings.Cut(p, "?")
	decoded, err := url.PathUnescape(p)
	if err != nil {
		return "bad percent-encoding: " + err.Error()
	}
	if decoded == "" {
		return anchorProblem(d, rel, frag)
	}
	var joined string
	if strings.HasPrefix(decoded, "/") {
		joined = path.Clean(strings.TrimPrefix(decoded, "/"))
	} else {
		joined = path.Clean(path.Join(path.Dir(rel), decoded))
	}
	if joined == ".." || strings.HasPrefix(joined, "../") {
		return "leaves the repository"
	}
	isDir, err := existsExact(c.root, joined)
	if err != nil {
		return err.Error()
	}
	if !hasFrag || frag == "" {
		return ""
	}
	switch {
	case isDir:
		return "an anchor on a directory"
	case strings.EqualFold(path.Ext(joined), ".md"):
		td, err := c.doc(joined)
		if err != nil {
			return err.Error()
		}
		return anchorProblem(td, joined, frag)
	case lineAnchorRE.MatchString(frag):
		return ""
	}
	return "an anchor into a file that is not Markdown (only #L<n> line anchors are)"
}

// anchorProblem checks #frag against the anchors of d (the file name).
func anchorProblem(d *mdDoc, name, frag string) string {
	if frag == "" {
		return "" // "#" is the top of the page
	}
	a, err := url.PathUnescape(frag)
	if err != nil {
		return "bad percent-encoding in the anchor: " + err.Error()
	}
	if d.anchors[a] {
		return ""
	}
	msg := fmt.Sprintf("no heading or anchor %q in %s", a, name)
	if d.anchors[strings.ToLower(a)] {
		msg += " (anchors are lower case)"
	}
	return msg
}

// externalProblem checks a link with a scheme; http(s) URLs are parsed,
// never fetched.
func externalProblem(target string) string {
	scheme := strings.ToLower(target[:strings.IndexByte(target, ':')])
	switch scheme {
	case "mailto":
		if !strings.Contains(target, "@") {
			return "mailto: without an address"
		}
		return ""
	case "http", "https":
	default:
		return "scheme " + scheme + ": links are relative, http(s) or mailto"
	}
	if strings.ContainsFunc(target, func(r rune) bool { return r <= ' ' || r == 0x7f || r == '<' || r == '>' || r == '"' }) {
		return "spaces, controls or <>\" in a URL: percent-encode them"
	}
	u, err := url.Parse(target)
	if err != nil {
		return "malformed URL: " + err.Error()
	}
	if u.Host == "" {
		return "no host"
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); ip == nil && !hostnameRE.MatchString(host) {
		return fmt.Sprintf("bad host %q", host)
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return "bad port " + port
		}
	}
	return ""
}

// existsExact reports whether the slash path rel exists under root with
// exactly that spelling (GitHub's paths are case-sensitive, some file
// systems are not), and whether it is a directory.
func existsExact(root, rel string) (isDir bool, err error) {
	dir := root
	for _, name := range strings.Split(rel, "/") {
		if name == "." {
			continue
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			return false, fmt.Errorf("no such file %s", rel)
		}
		found := false
		for _, e := range entries {
			if e.Name() == name {
				found, isDir = true, e.IsDir()
				break
			}
		}
		if !found {
			return false, fmt.Errorf("no such file %s", rel)
		}
		dir = filepath.Join(dir, name)
	}
	return isDir, nil
}

// localPath resolves a relative link from the file rel to a slash path
// under the root, without its anchor; ok is false for other links.
func localPath(rel, target string) (string, bool) {
	if target == "" || strings.HasPrefix(target, "#") || strings.HasPrefix(target, "//") || schemeRE.MatchString(target) {
		return "", false
	}
	p, _, _ := strings.Cut(target, "#")
	p, _, _ = strings.Cut(p, "?")
	p, err := url.PathUnescape(p)
	if err != nil || p == "" {
		return "", false
	}
	if strings.HasPrefix(p, "/") {
		return path.Clean(p[1:]), true
	}
	return path.Clean(path.Join(path.Dir(rel), p)), true
}

// ---- Markdown ----

// parseMarkdown finds the headings (as anchors) and links of a Markdown
// document. It knows the parts of CommonMark and GitHub's dialect that
// decide what is a link and what is a heading: code blocks, code spans,
// HTML comments, backslash escapes, ATX and setext headings, inline,
// reference and auto links.
func parseMarkdown(src []byte) *mdDoc {
	d := &mdDoc{anchors: map[string]bool{}}
	text := strings.ReplaceAll(string(src), "\r\n", "\n")
	masked, headings := maskBlocks(text)
	masked = commentRE.ReplaceAllStringFunc(masked, blankOut)
	// The headings' anchors and explicit HTML anchors, in document order.
	s := slugger{}
	hi := 0
	for _, m := range htmlAnchorRE.FindAllStringSubmatchIndex(masked, -1) {
		for line := lineAt(masked, m[0]); hi < len(headings) && headings[hi].line <= line; hi++ {
			d.addAnchor(s.slug(headings[hi].text))
		}
		d.addAnchor(masked[m[2]:m[3]])
	}
	for ; hi < len(headings); hi++ {
		d.addAnchor(s.slug(headings[hi].text))
	}
	d.links = findLinks(text, masked)
	return d
}

func (d *mdDoc) addAnchor(a string) {
	if !d.anchors[a] {
		d.anchors[a] = true
		d.order = append(d.order, a)
	}
}

var htmlAnchorRE = regexp.MustCompile(`<a\s+(?:[^>]*\s)?(?:name|id)\s*=\s*["']([^"']+)["']`)

type heading struct {
	line int
	text string
}

var (
	atxRE      = regexp.MustCompile(`^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$`)
	setextRE   = regexp.MustCompile(`^ {0,3}(=+|-+)[ \t]*$`)
	fenceRE    = regexp.MustCompile("^(`{3,}|~{3,})(.*)$")
	listItemRE = regexp.MustCompile(`^([-*+]|[0-9]{1,9}[.)])([ \t]+|$)`)
	breakRE    = regexp.MustCompile(`^ {0,3}(?:(?:\*[ \t]*){3,}|(?:-[ \t]*){3,}|(?:_[ \t]*){3,})$`)
)

// maskBlocks returns text with its code blocks blanked (every character but
// newlines a space, so that offsets and line numbers stay), and its
// headings.
func maskBlocks(text string) (string, []heading) {
	lines := strings.SplitAfter(text, "\n")
	out := make([]string, len(lines))
	var headings []heading
	var (
		fence       string // the open fence's run of ` or ~, "" if none
		fenceIndent int
		indented    bool // inside an indented code block
		prevBlank   = true
		para        []string // the open paragraph's lines
		listIndent  = -1     // content column of the open list item
	)
	for i, raw := range lines {
		line := strings.TrimSuffix(raw, "\n")
		indent, rest := indentOf(line)
		blank := strings.TrimSpace(line) == ""
		code := false
		switch {
		case fence != "":
			code = true
			run := len(rest) - len(strings.TrimLeft(rest, fence[:1]))
			if indent-fenceIndent < 4 && run >= len(fence) && strings.TrimSpace(rest[run:]) == "" {
				fence = ""
			}
		case blank:
			// a blank line keeps an indented code block open
		case indented && indent >= 4+max(listIndent, 0):
			code = true
		case listIndent < 0 && indent >= 4 && prevBlank,
			listIndent >= 0 && indent >= listIndent+4 && prevBlank:
			code, indented = true, true
		default:
			indented = false
			rel := indent - max(listIndent, 0)
			if listIndent >= 0 && indent < listIndent && prevBlank && !listItemRE.MatchString(rest) {
				listIndent, rel = -1, indent // the list ended
			}
			if m := fenceRE.FindStringSubmatch(rest); m != nil && rel < 4 && !(m[1][0] == '`' && strings.Contains(m[2], "`")) {
				fence, fenceIndent, code = m[1], indent, true
				break
			}
			if m := listItemRE.FindStringSubmatch(rest); m != nil && !breakRE.MatchString(line) {
				listIndent = indent + len(m[1]) + len(m[2])
				if m[2] == "" || len(m[2]) > 4 {
					listIndent = indent + len(m[1]) + 1
				}
				para = nil
				prevBlank = false
				out[i] = raw
				continue
			}
			if m := setextRE.FindStringSubmatch(line); m != nil && len(para) > 0 {
				headings = append(headings, heading{line: i, text: strings.TrimSpace(strings.Join(para, " "))})
				para = nil
				prevBlank = false
				out[i] = raw
				continue
			}
			if m := atxRE.FindStringSubmatch(line); m != nil {
				headings = append(headings, heading{line: i + 1, text: strings.TrimSpace(m[2])})
				para = nil
				prevBlank = false
				out[i] = raw
				continue
			}
			if breakRE.MatchString(line) || strings.HasPrefix(rest, "|") || strings.HasPrefix(rest, ">") {
				para = nil
			} else {
				para = append(para, strings.TrimSpace(line))
			}
		}
		if blank {
			para = nil
		}
		prevBlank = blank
		if code {
			out[i] = blankOut(raw)
			para = nil
		} else {
			out[i] = raw
		}
	}
	return strings.Join(out, ""), headings
}

// indentOf returns the width of a line's leading whitespace (tabs to the
// next multiple of 4) and the rest of the line.
func indentOf(line string) (int, string) {
	w := 0
	for i, r := range line {
		switch r {
		case ' ':
			w++
		case '\t':
			w += 4 - w%4
		default:
			return w, line[i:]
		}
	}
	return w, ""
}

func blankOut(s string) string {
	b := []byte(s)
	for i := range b {
		if b[i] != '\n' {
			b[i] = ' '
		}
	}
	return string(b)
}

func lineAt(s string, off int) int { return strings.Count(s[:off], "\n") + 1 }

var (
	commentRE = regexp.MustCompile(`(?s)<!--.*?-->`)
	refDefRE  = regexp.MustCompile(`(?m)^ {0,3}\[([^\]\n]+)\]:[ \t]*(?:\n[ \t]*)?(<[^>\n]*>|\S+)[^\n]*$`)
	autoRE    = regexp.MustCompile(`<([A-Za-z][A-Za-z0-9+.-]{1,31}:[^<>\x00-\x20]*)>`)
)

// findLinks finds the links of text, whose code blocks are blanked in
// masked.
func findLinks(text, masked string) []mdLink {
	syntax := maskInline(masked)
	var links []mdLink
	defs := map[string]bool{}
	for _, m := range refDefRE.FindAllStringSubmatchIndex(syntax, -1) {
		defs[normLabel(syntax[m[2]:m[3]])] = true
		dest := text[m[4]:m[5]]
		if strings.HasPrefix(dest, "<") {
			dest = dest[1 : len(dest)-1]
		}
		links = append(links, mdLink{line: lineAt(text, m[4]), target: unescape(dest)})
		syntax = syntax[:m[0]] + blankOut(syntax[m[0]:m[1]]) + syntax[m[1]:]
	}
	for _, m := range autoRE.FindAllStringSubmatchIndex(syntax, -1) {
		links = append(links, mdLink{line: lineAt(text, m[0]), target: text[m[2]:m[3]]})
	}
	for i := 0; i < len(syntax); i++ {
		if syntax[i] != '[' {
			continue
		}
		end := closingBracket(syntax, i)
		if end < 0 {
			continue
		}
		line := lineAt(text, i)
		switch {
		case end+1 < len(syntax) && syntax[end+1] == '(':
			dest, ok := destination(text[end+2:])
			switch {
			case !ok:
				links = append(links, mdLink{line: line, bad: "malformed link: " + strings.SplitN(text[i:], "\n", 2)[0]})
			default:
				links = append(links, mdLink{line: line, target: dest})
			}
		case end+1 < len(syntax) && syntax[end+1] == '[':
			refEnd := closingBracket(syntax, end+1)
			if refEnd < 0 {
				continue
			}
			label := syntax[end+2 : refEnd]
			if strings.TrimSpace(label) == "" {
				label = syntax[i+1 : end]
			}
			if !defs[normLabel(label)] {
				links = append(links, mdLink{line: line, bad: "reference [" + strings.TrimSpace(label) + "] is not defined"})
			}
		}
	}
	slices.SortStableFunc(links, func(a, b mdLink) int { return a.line - b.line })
	return links
}

// maskInline blanks code spans, backslash escapes and HTML comments, which
// hide link syntax.
func maskInline(s string) string {
	b := []byte(s)
	for i := 0; i < len(b); i++ {
		switch {
		case b[i] == '\\' && i+1 < len(b) && isASCIIPunct(b[i+1]):
			b[i], b[i+1] = ' ', ' '
			i++
		case b[i] == '`':
			n := 0
			for i+n < len(b) && b[i+n] == '`' {
				n++
			}
			end := closingRun(b, i+n, n)
			if end < 0 {
				i += n - 1
				continue
			}
			for j := i; j < end; j++ {
				if b[j] != '\n' {
					b[j] = ' '
				}
			}
			i = end - 1
		}
	}
	return string(b)
}

// closingRun finds the end of a run of exactly n backticks from i, within
// the paragraph (a blank line ends the search); -1 if none.
func closingRun(b []byte, i, n int) int {
	for j := i; j < len(b); j++ {
		if b[j] == '\n' && paragraphEnds(b[j+1:]) {
			return -1
		}
		if b[j] != '`' {
			continue
		}
		k := j
		for k < len(b) && b[k] == '`' {
			k++
		}
		if k-j == n {
			return k
		}
		j = k - 1
	}
	return -1
}

// paragraphEnds reports whether the text after a newline starts with a
// blank line.
func paragraphEnds(rest []byte) bool {
	for _, c := range rest {
		switch c {
		case ' ', '\t':
			continue
		case '\n':
			return true
		}
		return false
	}
	return true
}

// closingBracket finds the ']' that closes the '[' at i (brackets nest),
// within the paragraph; -1 if none.
func closingBracket(s string, i int) int {
	depth := 0
	for j := i; j < len(s); j++ {
		switch s[j] {
		case '[':
			depth++
		case ']':
			depth--
			if depth == 0 {
				return j
			}
		case '\n':
			if paragraphEnds([]byte(s[j+1:])) {
				return -1
			}
		}
	}
	return -1
}

// destination reads a link destination and optional title after "(", up to
// and including the ")"; ok is false when they are malformed.
func destination(s string) (dest string, ok bool) {
	i := skipSpace(s, 0)
	var b strings.Builder
	if i < len(s) && s[i] == '<' {
		j := strings.IndexAny(s[i+1:], ">\n<")
		if j < 0 || s[i+1+j] != '>' {
			return "", false
		}
		b.WriteString(unescape(s[i+1 : i+1+j]))
		i += j + 2
	} else {
		depth := 0
	dest:
		for ; i < len(s); i++ {
			c := s[i]
			switch {
			case c == '\\' && i+1 < len(s) && isASCIIPunct(s[i+1]):
				b.WriteByte(s[i+1])
				i++
				continue
			case c == '(':
				depth++
			case c == ')':
				if depth == 0 {
					break dest
				}
				depth--
			case c <= ' ':
				break dest
			}
			b.WriteByte(c)
		}
		if depth != 0 {
			return "", false
		}
	}
	i = skipSpace(s, i)
	if i < len(s) && (s[i] == '"' || s[i] == '\'' || s[i] == '(') {
		closing := s[i]
		if closing == '(' {
			closing = ')'
		}
		j := i + 1
		for ; j < len(s) && s[j] != closing; j++ {
			if s[j] == '\\' {
				j++
			}
		}
		if j >= len(s) {
			return "", false
		}
		i = skipSpace(s, j+1)
	}
	if i >= len(s) || s[i] != ')' {
		return "", false
	}
	return b.String(), true
}

// skipSpace skips spaces and tabs and at most one newline.
func skipSpace(s string, i int) int {
	nl := false
	for ; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t':
		case '\n':
			if nl {
				return i
			}
			nl = true
		default:
			return i
		}
	}
	return i
}

func isASCIIPunct(c byte) bool {
	return c >= '!' && c <= '/' || c >= ':' && c <= '@' || c >= '[' && c <= '`' || c >= '{' && c <= '~'
}

// unescape undoes backslash escapes of ASCII punctuation.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && isASCIIPunct(s[i+1]) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// normLabel is a reference label as CommonMark matches it: case-folded,
// whitespace collapsed.
func normLabel(s string) string { return strings.ToLower(strings.Join(strings.Fields(s), " ")) }

// ---- GitHub's anchors ----

// slugger gives the anchors of a file's headings in order, as GitHub does
// (github-slugger): a repeated slug gets -1, -2, ..., skipping slugs
// already taken.
type slugger map[string]int

func (s slugger) slug(heading string) string {
	base := githubSlug(heading)
	result := base
	for {
		if _, taken := s[result]; !taken {
			break
		}
		s[base]++
		result = fmt.Sprintf("%s-%d", base, s[base])
	}
	s[result] = 0
	return result
}

var (
	inlineLinkRE = regexp.MustCompile(`!?\[([^\]]*)\](?:\([^)]*\)|\[[^\]]*\])`)
	htmlTagRE    = regexp.MustCompile(`</?[A-Za-z][^>]*>`)
	emphasisRE   = []*regexp.Regexp{
		regexp.MustCompile(`\*+([^*\s](?:[^*]*[^*\s])?)\*+`),
		regexp.MustCompile(`(^|[^\p{L}\p{N}_])_+([^_\s](?:[^_]*[^_\s])?)_+($|[^\p{L}\p{N}_])`),
		regexp.MustCompile(`~~([^~]+)~~`),
	}
)

// githubSlug is the anchor GitHub gives a heading: the heading's text
// (markup removed: code spans keep their content, links their text), lower
// case, with every character that is not a letter, a digit, a mark, '-',
// '_' or a space removed, and every space turned into '-'.
func githubSlug(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(plainText(heading)) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-', r == '_', unicode.IsLetter(r), unicode.IsNumber(r), unicode.IsMark(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// plainText is a heading's text as GitHub renders it, without markup.
func plainText(h string) string {
	// Code spans are literal: split them out first.
	var out strings.Builder
	for len(h) > 0 {
		i := strings.IndexByte(h, '`')
		if i < 0 {
			out.WriteString(plainInline(h))
			break
		}
		n := 0
		for i+n < len(h) && h[i+n] == '`' {
			n++
		}
		end := closingRun([]byte(h), i+n, n)
		if end < 0 {
			out.WriteString(plainInline(h[:i+n]))
			h = h[i+n:]
			continue
		}
		out.WriteString(plainInline(h[:i]))
		code := h[i+n : end-n]
		if len(code) > 1 && code[0] == ' ' && code[len(code)-1] == ' ' {
			code = code[1 : len(code)-1]
		}
		out.WriteString(code)
		h = h[end:]
	}
	return out.String()
}

// plainInline removes links, HTML tags, emphasis and backslash escapes
// from text outside code spans.
func plainInline(s string) string {
	s = inlineLinkRE.ReplaceAllString(s, "$1")
	s = htmlTagRE.ReplaceAllString(s, "")
	// Escaped characters are literal: protect them from the emphasis rules.
	const esc = '\uE000'
	var b strings.Builder
	var escaped []rune
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && isASCIIPunct(s[i+1]) {
			escaped = append(escaped, rune(s[i+1]))
			b.WriteRune(esc)
			i++
			continue
		}
		b.WriteByte(s[i])
	}
	s = b.String()
	s = emphasisRE[0].ReplaceAllString(s, "$1")
	for {
		t := emphasisRE[1].ReplaceAllString(s, "$1$2$3")
		if t == s {
			break
		}
		s = t
	}
	s = emphasisRE[2].ReplaceAllString(s, "$1")
	if len(escaped) == 0 {
		return s
	}
	b.Reset()
	for _, r := range s {
		if r == esc && len(escaped) > 0 {
			r, escaped = escaped[0], escaped[1:]
		}
		b.WriteRune(r)
	}
	return b.String()
}
