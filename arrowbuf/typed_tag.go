package arrowbuf

import (
	"fmt"
	"strconv"
	"strings"
)

// fieldTag is a struct field's sluice tag:
//
//	sluice:"name,primary_key,merge_key,not_null,unique,data_type=decimal(38,9),precision=38,scale=9,timezone=false"
//
// The name (first, may be empty) names the column; sluice:"-" skips the
// field (sluice:"-," names it "-", as in encoding/json). A data_type may carry its precision and scale in parentheses, so
// commas inside parentheses do not separate options.
type fieldTag struct {
	name       string
	skip       bool
	primaryKey bool
	mergeKey   bool
	notNull    bool
	unique     bool
	dataType   DataType
	precision  int
	scale      int
	timezone   *bool
}

// tagOptions lists the options a sluice tag takes, for error messages.
const tagOptions = "primary_key, merge_key, not_null, unique, data_type=, precision=, scale=, timezone="

// knownTypes are the data types a tag may name.
var knownTypes = map[DataType]bool{
	TypeBigint: true, TypeDouble: true, TypeBool: true, TypeText: true, TypeTimestamp: true, TypeDate: true,
	TypeTime: true, TypeDecimal: true, TypeJSON: true, TypeBinary: true, TypeWei: true,
}

// parseTag parses a sluice tag; the error names the option that is wrong.
func parseTag(tag string) (fieldTag, error) {
	var ft fieldTag
	if strings.TrimSpace(tag) == "-" {
		ft.skip = true
		return ft, nil
	}
	parts, err := splitTag(tag)
	if err != nil {
		return ft, err
	}
	ft.name = strings.TrimSpace(parts[0])
	for _, p := range parts[1:] {
		key, val, hasVal := strings.Cut(strings.TrimSpace(p), "=")
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		flag := func(dst *bool) error {
			if hasVal {
				return fmt.Errorf("option %s takes no value", key)
			}
			*dst = true
			return nil
		}
		switch key {
		case "":
			continue
		case "primary_key":
			err = flag(&ft.primaryKey)
		case "merge_key":
			err = flag(&ft.mergeKey)
		case "not_null":
			err = flag(&ft.notNull)
		case "unique":
			err = flag(&ft.unique)
		case "data_type":
			err = ft.parseDataType(val)
		case "precision", "scale":
			n, perr := strconv.Atoi(val)
			if perr != nil || n < 0 || n > 1000 {
				return ft, fmt.Errorf("option %s=%q: want a number from 0 to 1000", key, val)
			}
			if key == "precision" {
				ft.precision = n
			} else {
				ft.scale = n
			}
		case "timezone":
			b, perr := strconv.ParseBool(val)
			if perr != nil {
				return ft, fmt.Errorf("option timezone=%q: want true or false", val)
			}
			ft.timezone = &b
		default:
			return ft, fmt.Errorf("unknown option %q (options: %s)", key, tagOptions)
		}
		if err != nil {
			return ft, err
		}
	}
	if ft.scale > 0 && ft.precision > 0 && ft.scale > ft.precision {
		return ft, fmt.Errorf("scale %d is larger than precision %d", ft.scale, ft.precision)
	}
	return ft, nil
}

// splitTag splits on commas outside parentheses.
func splitTag(tag string) ([]string, error) {
	var parts []string
	depth, start := 0, 0
	for i := 0; i < len(tag); i++ {
		switch tag[i] {
		case '(':
			depth++
		case ')':
			if depth == 0 {
				return nil, fmt.Errorf("unbalanced ) in %q", tag)
			}
			depth--
		case ',':
			if depth == 0 {
				parts = append(parts, tag[start:i])
				start = i + 1
			}
		}
	}
	if depth != 0 {
		return nil, fmt.Errorf("unclosed ( in %q", tag)
	}
	return append(parts, tag[start:]), nil
}

// parseDataType reads "decimal", "decimal(38,9)" or "timestamp(6)".
func (ft *fieldTag) parseDataType(val string) error {
	name, args, paren := strings.Cut(val, "(")
	dt := DataType(strings.ToLower(strings.TrimSpace(name)))
	if dt == "complex" {
		dt = TypeJSON // dlt's older name
	}
	if !knownTypes[dt] {
		return fmt.Errorf("option data_type=%q: unknown type (types: bigint, double, bool, text, timestamp, date, time, decimal, json, binary, wei)", val)
	}
	ft.dataType = dt
	if !paren {
		return nil
	}
	args, ok := strings.CutSuffix(strings.TrimSpace(args), ")")
	if !ok || strings.ContainsAny(args, "()") {
		return fmt.Errorf("option data_type=%q: want type(precision) or type(precision,scale)", val)
	}
	ps := strings.Split(args, ",")
	if len(ps) > 2 {
		return fmt.Errorf("option data_type=%q: want type(precision) or type(precision,scale)", val)
	}
	for i, s := range ps {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 0 || n > 1000 {
			return fmt.Errorf("option data_type=%q: %q is not a number from 0 to 1000", val, strings.TrimSpace(s))
		}
		if i == 0 {
			ft.precision = n
		} else {
			ft.scale = n
		}
	}
	return nil
}

// apply sets the tag's hints on a column.
func (ft *fieldTag) apply(c *Column) {
	if ft.dataType != "" {
		c.DataType = ft.dataType
	}
	if ft.precision > 0 {
		c.Precision = ft.precision
	}
	if ft.scale > 0 {
		c.Scale = ft.scale
	}
	if ft.timezone != nil {
		tz := *ft.timezone
		c.Timezone = &tz
	}
	c.PrimaryKey = ft.primaryKey
	c.MergeKey = ft.mergeKey
	c.Unique = ft.unique
	setNullable(c, !ft.notNull && !ft.primaryKey)
}

// setNullable is the one place a type's column sets its nullability: a
// field is nullable unless tagged not_null or primary_key (Go's zero value
// is a value, not a NOT NULL promise).
func setNullable(c *Column, nullable bool) {
	// NotNull too: a hint's Nullable false alone means "not set" (see
	// Column), so ColumnsOf used as hints on another resource keeps it.
	c.Nullable, c.NotNull = nullable, !nullable
}
