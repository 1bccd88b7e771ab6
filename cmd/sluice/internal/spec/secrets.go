package spec

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/sluicehq/sluice/internal/confspec"
)

// SecretsFile is where secrets are read from, relative to the working dir.
const SecretsFile = ".sluice/secrets.toml"

// MissingSecretError reports a ${NAME} that neither the environment nor the
// secrets file sets.
type MissingSecretError struct {
	Name string
}

func (e *MissingSecretError) Error() string {
	return fmt.Sprintf("secret %q is not set (env or %s)", e.Name, SecretsFile)
}

// Secrets resolves ${NAME} references: from the environment first, then from
// the secrets file. The zero value resolves nothing.
type Secrets struct {
	// Env looks up an environment variable (os.LookupEnv when nil).
	Env func(string) (string, bool)
	// File holds the secrets file's values by dotted name.
	File map[string]string
}

// LoadSecrets reads the secrets file at path into dotted names: a flat
// `NAME = "value"` is NAME, a key under `[section]` is section.key. A missing
// file is no error.
func LoadSecrets(path string) (map[string]string, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return ParseSecrets(raw, path)
}

// ParseSecrets parses secrets TOML (see LoadSecrets); name is used in errors.
func ParseSecrets(raw []byte, name string) (map[string]string, error) {
	var tree map[string]any
	if _, err := toml.Decode(string(raw), &tree); err != nil {
		var perr toml.ParseError
		if errors.As(err, &perr) {
			// Only the position and key: the message may quote a secret.
			if perr.LastKey != "" {
				return nil, fmt.Errorf("%s:%d: invalid TOML after key %q", name, perr.Position.Line, perr.LastKey)
			}
			return nil, fmt.Errorf("%s:%d: invalid TOML", name, perr.Position.Line)
		}
		return nil, fmt.Errorf("%s: invalid TOML", name)
	}
	out := map[string]string{}
	flattenTOML("", tree, out)
	return out, nil
}

func flattenTOML(prefix string, m map[string]any, out map[string]string) {
	for k, v := range m {
		name := k
		if prefix != "" {
			name = prefix + "." + k
		}
		switch v := v.(type) {
		case map[string]any:
			flattenTOML(name, v, out)
		case string:
			out[name] = v
		case int64:
			out[name] = strconv.FormatInt(v, 10)
		case float64:
			out[name] = strconv.FormatFloat(v, 'g', -1, 64)
		case bool:
			out[name] = strconv.FormatBool(v)
		case time.Time:
			out[name] = v.Format(time.RFC3339Nano)
		case fmt.Stringer: // toml.LocalDate, LocalDateTime, LocalTime
			out[name] = v.String()
		}
	}
}

// Lookup returns the value of the secret name: the environment variable
// name, or for a dotted name also dlt's SECTION__KEY form, else the file.
func (s *Secrets) Lookup(name string) (string, bool) {
	env := s.Env
	if env == nil {
		env = os.LookupEnv
	}
	if v, ok := env(name); ok {
		return v, true
	}
	if strings.Contains(name, ".") {
		if v, ok := env(strings.ToUpper(strings.ReplaceAll(name, ".", "__"))); ok {
			return v, true
		}
	}
	if s.File != nil {
		if v, ok := s.File[name]; ok {
			return v, true
		}
	}
	return "", false
}

var secretName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_-]*)*$`)

// Expand replaces every ${NAME} in s with its secret value and reports the
// values used. `$${` stands for a literal `${`. A ${...} whose content is not
// a name is left as it is.
func (s *Secrets) Expand(str string) (string, []string, error) {
	var used []string
	out, err := s.expand(str, func(_, value string) { used = append(used, value) })
	if err != nil {
		return "", nil, err
	}
	return out, used, nil
}

// expand is Expand calling note with each secret it uses.
func (s *Secrets) expand(str string, note func(name, value string)) (string, error) {
	return replaceRefs(str, func(name string) (string, error) {
		v, ok := s.Lookup(name)
		if !ok {
			return "", &MissingSecretError{Name: name}
		}
		note(name, v)
		return v, nil
	})
}

// refs returns the names of the secrets str references.
func refs(str string) []string {
	var names []string
	_, _ = replaceRefs(str, func(name string) (string, error) {
		names = append(names, name)
		return "", nil
	})
	return names
}

// replaceRefs replaces each ${NAME} in str with what value returns for it.
func replaceRefs(str string, value func(name string) (string, error)) (string, error) {
	if !strings.Contains(str, "${") {
		return str, nil
	}
	var b strings.Builder
	for i := 0; i < len(str); {
		if strings.HasPrefix(str[i:], "$${") {
			b.WriteString("${")
			i += 3
			continue
		}
		if strings.HasPrefix(str[i:], "${") {
			end := strings.IndexByte(str[i+2:], '}')
			if end >= 0 {
				name := strings.TrimSpace(str[i+2 : i+2+end])
				if secretName.MatchString(name) {
					v, err := value(name)
					if err != nil {
						return "", err
					}
					b.WriteString(v)
					i += 2 + end + 1
					continue
				}
			}
		}
		b.WriteByte(str[i])
		i++
	}
	return b.String(), nil
}

// expandTree replaces secrets in every string value of a decoded tree, in
// place, walking map keys in sorted order so the first missing secret
// reported is always the same one.
func (s *Secrets) expandTree(v any, note func(name, value string)) (any, error) {
	switch v := v.(type) {
	case string:
		return s.expand(v, note)
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			nv, err := s.expandTree(v[k], note)
			if err != nil {
				return nil, err
			}
			v[k] = nv
		}
		return v, nil
	case []any:
		for i := range v {
			nv, err := s.expandTree(v[i], note)
			if err != nil {
				return nil, err
			}
			v[i] = nv
		}
		return v, nil
	}
	return v, nil
}

// stateFields are the fields of an incremental (a mapping with a
// cursor_path, in endpoint.incremental or a `type: incremental` param) whose
// values the pipeline state keeps in plain text, as the description marks
// them (Stored): cursor_path is a key of the state, initial_value is
// stored, and is the last value until a row moves it.
var stateFields = confspec.StoredNames(sourceSpec())

// checkStateSecrets rejects a ${NAME} secret in a value the pipeline state
// stores, before any secret is resolved. end_value is allowed: a run with
// one keeps no state.
func checkStateSecrets(v any, path string) error {
	switch v := v.(type) {
	case map[string]any:
		if _, ok := v["cursor_path"]; ok {
			for _, f := range stateFields {
				if s, ok := v[f].(string); ok {
					if names := refs(s); len(names) > 0 {
						return errAt(confspec.JoinKey(path, f), "${%s} is a secret, but %s is stored in plain text in the pipeline state: write the value itself", names[0], f)
					}
				}
			}
		}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if err := checkStateSecrets(v[k], confspec.JoinKey(path, k)); err != nil {
				return err
			}
		}
	case []any:
		for i, e := range v {
			if err := checkStateSecrets(e, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	}
	return nil
}
