package rest

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/valyala/fastjson"

	"github.com/sluicehq/sluice/internal/jsonconv"
)

// template is a string with {name} placeholders, parsed once.
type template struct {
	parts []tplPart
}

type tplPart struct {
	lit  string
	name string // placeholder name when lit == "" and name != ""
}

// isPlaceholderName reports whether s may name a placeholder:
// "resources.posts.id", "incremental.start_value", "issue_number".
func isPlaceholderName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if !nameRune(r, i == 0) {
			return false
		}
	}
	return true
}

// nameRune reports whether r may be in a placeholder name (at its start
// when first).
func nameRune(r rune, first bool) bool {
	switch {
	case r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z'):
		return true
	default:
		return !first && ((r >= '0' && r <= '9') || r == '.' || r == '-' || r == '[' || r == ']')
	}
}

// parseTemplate splits s into literals and placeholders. known decides which
// names are placeholders; other {...} stay literal text.
func parseTemplate(s string, known func(name string) bool) template {
	return parseTemplateEsc(s, known, false)
}

// parsePathTemplate is parseTemplate for an endpoint path, which dlt formats
// with Python's str.format: "{{" and "}}" are a literal "{" and "}".
func parsePathTemplate(s string) template {
	return parseTemplateEsc(s, func(string) bool { return true }, true)
}

func parseTemplateEsc(s string, known func(name string) bool, escapes bool) template {
	var t template
	var lit strings.Builder
	for i := 0; i < len(s); {
		if escapes && i+1 < len(s) && (s[i] == '{' || s[i] == '}') && s[i+1] == s[i] {
			lit.WriteByte(s[i])
			i += 2
			continue
		}
		if s[i] == '{' {
			if end := strings.IndexByte(s[i+1:], '}'); end >= 0 {
				name := s[i+1 : i+1+end]
				if isPlaceholderName(name) && known(name) {
					if lit.Len() > 0 {
						t.parts = append(t.parts, tplPart{lit: lit.String()})
						lit.Reset()
					}
					t.parts = append(t.parts, tplPart{name: name})
					i += end + 2
					continue
				}
			}
		}
		lit.WriteByte(s[i])
		i++
	}
	if lit.Len() > 0 {
		t.parts = append(t.parts, tplPart{lit: lit.String()})
	}
	return t
}

// checkPathBraces rejects an endpoint path whose braces do not pair up, as
// dlt's str.format parser does: an unclosed "{resources.items.id" was
// requested literally. "{{" and "}}" outside a placeholder, dlt's escaped
// braces, pass (parsePathTemplate makes them "{" and "}").
func checkPathBraces(s string) error {
	depth, open := 0, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case depth == 0 && (c == '{' || c == '}') && i+1 < len(s) && s[i+1] == c:
			i++
		case c == '{':
			if depth == 0 {
				open = i
			}
			depth++
		case c == '}':
			if depth == 0 {
				return fmt.Errorf(`unbalanced braces: the "}" at offset %d closes no "{"`, i)
			}
			depth--
		}
	}
	if depth > 0 {
		return fmt.Errorf(`unbalanced braces: the "{" at offset %d is not closed`, open)
	}
	return nil
}

// checkUnclosed rejects a "{resources." or "{incremental." placeholder whose
// name is not followed by "}", which would be sent literally. Other braces
// in params, headers and JSON bodies are literal text (a GraphQL query, a
// secret), so they are not checked for balance as a path is.
func checkUnclosed(s string) error {
	for i := 0; i < len(s); i++ {
		rest := s[i+1:]
		if s[i] != '{' || !strings.HasPrefix(rest, "resources.") && !strings.HasPrefix(rest, "incremental.") {
			continue
		}
		n := strings.IndexFunc(rest, func(r rune) bool { return !nameRune(r, false) })
		if n < 0 || rest[n] != '}' {
			if n < 0 {
				n = len(rest)
			}
			return fmt.Errorf(`unclosed placeholder "{%s" (want "}" right after the name)`, rest[:n])
		}
	}
	return nil
}

// names lists the placeholders in t.
func (t template) names() []string {
	var out []string
	for _, p := range t.parts {
		if p.name != "" {
			out = append(out, p.name)
		}
	}
	return out
}

// whole returns the placeholder name when t is exactly one placeholder.
func (t template) whole() (string, bool) {
	if len(t.parts) == 1 && t.parts[0].name != "" {
		return t.parts[0].name, true
	}
	return "", false
}

// vars resolves placeholder names to values: Go scalars, json.Number for
// JSON numbers, maps and slices for objects and lists.
type vars func(name string) (any, error)

// text expands t as text.
func (t template) text(v vars) (string, error) {
	if len(t.parts) == 1 && t.parts[0].name == "" {
		return t.parts[0].lit, nil
	}
	var b strings.Builder
	for _, p := range t.parts {
		if p.name == "" {
			b.WriteString(p.lit)
			continue
		}
		val, err := v(p.name)
		if err != nil {
			return "", err
		}
		b.WriteString(formatText(val))
	}
	return b.String(), nil
}

// path expands t as a URL path: each value escaped by escapePathValue,
// except a full URL at the start, which is the URL to request. A null or
// empty value is an error (the request would go to "items//x"); where
// names the placeholder's source for it.
func (t template) path(v vars, where func(name string) string) (string, error) {
	if len(t.parts) == 1 && t.parts[0].name == "" {
		return t.parts[0].lit, nil
	}
	var b strings.Builder
	for i, p := range t.parts {
		if p.name == "" {
			b.WriteString(p.lit)
			continue
		}
		val, err := v(p.name)
		if err != nil {
			return "", err
		}
		s := formatText(val)
		switch {
		case val == nil:
			return "", fmt.Errorf("rest: path placeholder {%s}: %s is null, and a path cannot hold it", p.name, where(p.name))
		case s == "":
			return "", fmt.Errorf("rest: path placeholder {%s}: %s is empty, and a path cannot hold it", p.name, where(p.name))
		case i == 0 && isFullURL(s):
			b.WriteString(s)
			continue
		}
		if s, err = escapePathValue(s); err != nil {
			return "", fmt.Errorf("rest: path placeholder {%s}: %s %w", p.name, where(p.name), err)
		}
		b.WriteString(s)
	}
	return b.String(), nil
}

// value expands t keeping the JSON type of a whole-value placeholder.
func (t template) value(v vars) (any, error) {
	if name, ok := t.whole(); ok {
		return v(name)
	}
	return t.text(v)
}

// formatText renders a placeholder value inside a string.
func formatText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return string(x)
	case bool:
		return strconv.FormatBool(x)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case map[string]any, []any:
		raw, _ := json.Marshal(x)
		return string(raw)
	default:
		return fmt.Sprint(x)
	}
}

// EscapePathSegment escapes s as one URL path segment: every byte but RFC
// 3986's unreserved ones (letters, digits, "-", ".", "_", "~") is
// percent-encoded, "/" too. Secrets in a path are escaped so (see
// Secrets); a masker of output should know this form of them.
func EscapePathSegment(s string) string {
	const hex = "0123456789ABCDEF"
	n := 0
	for i := 0; i < len(s); i++ {
		if !unreserved(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		if c := s[i]; unreserved(c) {
			b = append(b, c)
		} else {
			b = append(b, '%', hex[c>>4], hex[c&15])
		}
	}
	return string(b)
}

func unreserved(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

// errDotSegment is a path value with a "." or ".." segment.
var errDotSegment = errors.New(`has a "." or ".." segment, which would move the request up the path`)

// escapePathValue escapes a value placed in a URL path segment by segment,
// keeping "/" so that a value like "owner/repo" spans segments as dlt's
// str.format does; "?", "#", "%" and the like stay inside the path. A "."
// or ".." segment is refused: the request would go elsewhere
// ("../../admin").
func escapePathValue(s string) (string, error) {
	segs := strings.Split(s, "/")
	for i, seg := range segs {
		if seg == "." || seg == ".." {
			return "", errDotSegment
		}
		segs[i] = EscapePathSegment(seg)
	}
	return strings.Join(segs, "/"), nil
}

// withSecrets returns t with every secret in its literal text escaped as one
// path segment: a ${SECRET} put into a spec's path is part of the text
// rest gets, and its "/", "?" or "#" must not end the segment or the path.
func (t template) withSecrets(secrets []string) template {
	secrets = longestFirst(secrets)
	var out template
	for _, p := range t.parts {
		if p.name != "" {
			out.parts = append(out.parts, p)
			continue
		}
		lit, _ := escapeSecrets(p.lit, secrets)
		out.parts = append(out.parts, tplPart{lit: lit})
	}
	return out
}

func longestFirst(secrets []string) []string {
	secrets = slices.Clone(secrets)
	slices.SortStableFunc(secrets, func(a, b string) int { return len(b) - len(a) })
	return secrets
}

// secretSpan is where escapeSecrets put a secret's escaped form.
type secretSpan struct {
	from, to int
	secret   string
}

// escapeSecrets escapes every secret in s as one path segment, the
// leftmost first, the longest of those starting at one place (secrets is
// longestFirst), and says where the escaped forms are in the result.
func escapeSecrets(s string, secrets []string) (string, []secretSpan) {
	var (
		done  strings.Builder
		spans []secretSpan
	)
	for s != "" {
		at, which := -1, ""
		for _, sec := range secrets {
			if i := strings.Index(s, sec); sec != "" && i >= 0 && (at < 0 || i < at) {
				at, which = i, sec
			}
		}
		if at < 0 {
			break
		}
		done.WriteString(s[:at])
		from := done.Len()
		done.WriteString(EscapePathSegment(which))
		spans = append(spans, secretSpan{from, done.Len(), which})
		s = s[at+len(which):]
	}
	if spans == nil {
		return s, nil
	}
	done.WriteString(s)
	return done.String(), spans
}

// jsonToGo converts a fastjson value to Go, numbers as json.Number so that
// they keep their literal form.
func jsonToGo(v *fastjson.Value) any { return jsonconv.ToGo(v, jsonconv.Literal) }

// tree is a JSON body with placeholders in its strings (keys stay literal).
type tree struct {
	raw  any
	tpls map[string]template // by string value, parsed once
	has  bool                // any placeholder at all
}

func parseTree(raw any, known func(string) bool) *tree {
	t := &tree{raw: raw, tpls: map[string]template{}}
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			if _, ok := t.tpls[x]; !ok {
				tp := parseTemplate(x, known)
				t.tpls[x] = tp
				if len(tp.names()) > 0 {
					t.has = true
				}
			}
		case map[string]any:
			for _, c := range x {
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(raw)
	return t
}

// names lists all placeholders in the tree.
func (t *tree) names() []string {
	var out []string
	for _, tp := range t.tpls {
		out = append(out, tp.names()...)
	}
	return out
}

// expand returns a copy of the tree with placeholders replaced.
func (t *tree) expand(v vars) (any, error) {
	if !t.has {
		return t.raw, nil
	}
	var walk func(x any) (any, error)
	walk = func(x any) (any, error) {
		switch y := x.(type) {
		case string:
			return t.tpls[y].value(v)
		case map[string]any:
			m := make(map[string]any, len(y))
			for k, c := range y {
				e, err := walk(c)
				if err != nil {
					return nil, err
				}
				m[k] = e
			}
			return m, nil
		case []any:
			out := make([]any, len(y))
			for i, c := range y {
				e, err := walk(c)
				if err != nil {
					return nil, err
				}
				out[i] = e
			}
			return out, nil
		}
		return x, nil
	}
	return walk(t.raw)
}
