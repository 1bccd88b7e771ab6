package confspec

import (
	"bytes"
	"fmt"
	"strings"
)

// Markdown renders the key reference of root: a section per object, in
// the order they are reached, each a table of its keys.
func Markdown(title, intro string, root *Object, rootPath string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# %s\n\n%s\n", title, strings.TrimSpace(intro))
	paths := map[*Object]string{}
	Walk(root, rootPath, func(path string, o *Object) { paths[o] = path })
	Walk(root, rootPath, func(path string, o *Object) {
		fmt.Fprintf(&b, "\n## %s\n", heading(path))
		if o.Doc != "" {
			fmt.Fprintf(&b, "\n%s\n", strings.TrimSpace(o.Doc))
		}
		if len(o.Fields) > 0 {
			b.WriteString("\n| key | type | default | description |\n|---|---|---|---|\n")
			for _, f := range o.Fields {
				doc := f.Doc
				if f.Required {
					doc = "**Required.** " + doc
				}
				if f.Secret {
					doc += " A secret: write it as `${NAME}`."
				}
				if f.Stored {
					doc += " Stored in the pipeline state in plain text: no secrets."
				}
				if f.Object != nil {
					doc += fmt.Sprintf(" See [%s](#%s).", heading(paths[f.Object]), anchor(paths[f.Object]))
				}
				fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", f.Name, cell(f.Type), cell(code(f.Default)), cell(strings.TrimSpace(doc)))
			}
		}
		if len(o.Variants) > 0 {
			b.WriteString("\nBy `type`:")
			for _, v := range o.Variants {
				fmt.Fprintf(&b, " [%s](#%s)", v.Name, anchor(paths[v]))
			}
			b.WriteString(".\n")
		}
	})
	return b.Bytes()
}

// heading is a path as a section title: "source.client".
func heading(path string) string {
	if path == "" {
		return "(top level)"
	}
	return path
}

// anchor is the id GitHub gives a heading: lower case, punctuation but
// "-" and "_" dropped, spaces as "-".
func anchor(path string) string {
	h := heading(path)
	var b strings.Builder
	for _, r := range strings.ToLower(h) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('-')
		}
	}
	return b.String()
}

// code sets a literal default as code; a described one ("the name") as text.
func code(s string) string {
	if s == "" || strings.Contains(s, " ") && !strings.ContainsAny(s, "0123456789") {
		return s
	}
	return "`" + s + "`"
}

// cell keeps a table cell on one line and its pipes out of the table.
func cell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.Join(strings.Fields(s), " ")
}
