package names

import (
	"strings"

	"github.com/sluicehq/sluice/arrowbuf"
)

// Pipeline lowercases a name and turns other characters into underscores,
// as pipeline names must be [a-z0-9_]+. Dataset names take Dataset.
func Pipeline(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// Dataset normalizes a dataset name as dlt does: with the snake_case naming
// convention's table identifier rule, so "MyData Set" is my_data_set, the
// schema name dlt would use. A blank name stays blank.
func Dataset(name string) string {
	if strings.TrimSpace(name) == "" {
		return ""
	}
	return arrowbuf.NormalizeTableIdentifier(name)
}
