package arrowbuf

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// render writes a parsed tag back in canonical form.
func (ft fieldTag) render() string {
	if ft.skip {
		return "-"
	}
	parts := []string{ft.name}
	for _, f := range []struct {
		on   bool
		name string
	}{{ft.primaryKey, "primary_key"}, {ft.mergeKey, "merge_key"}, {ft.notNull, "not_null"}, {ft.unique, "unique"}} {
		if f.on {
			parts = append(parts, f.name)
		}
	}
	if ft.dataType != "" {
		parts = append(parts, "data_type="+string(ft.dataType))
	}
	if ft.precision != 0 {
		parts = append(parts, fmt.Sprintf("precision=%d", ft.precision))
	}
	if ft.scale != 0 {
		parts = append(parts, fmt.Sprintf("scale=%d", ft.scale))
	}
	if ft.timezone != nil {
		parts = append(parts, fmt.Sprintf("timezone=%v", *ft.timezone))
	}
	if len(parts) == 1 {
		return ft.name + "," // "-" alone would skip the field
	}
	return strings.Join(parts, ",")
}

// FuzzParseTag: any tag parses or fails with one line, without a panic,
// and a parsed tag written back in canonical form parses to the same.
func FuzzParseTag(f *testing.F) {
	for _, s := range []string{"", "-", "name", "id,primary_key", ",data_type=decimal(38,9)", "x,data_type=decimal,precision=10,scale=2",
		"a,not_null,merge_key,unique,timezone=false", ",data_type=complex", ",data_type=decimal(", ",data_type=text)", "a,,b", ",precision=-1",
		"a,data_type=timestamp(6)", "(,)", ",scale=5,precision=2", "n,primary_key=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ft, err := parseTag(s)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("%q: error of several lines: %v", s, err)
			}
			return
		}
		if strings.ContainsAny(ft.name, ",") {
			return // a name with a comma cannot be written back; fine as parsed
		}
		again, err := parseTag(ft.render())
		if err != nil {
			t.Fatalf("%q -> %q: %v", s, ft.render(), err)
		}
		if again.render() != ft.render() || !reflect.DeepEqual(again, ft) {
			t.Fatalf("%q -> %+v -> %q -> %+v", s, ft, ft.render(), again)
		}
	})
}

// TestParseTag checks the sluice tag's options and the one-line error of
// each kind of mistake.
func TestParseTag(t *testing.T) {
	f := false
	cases := []struct {
		tag  string
		want fieldTag
		err  string
	}{
		{tag: "user_id,primary_key", want: fieldTag{name: "user_id", primaryKey: true}},
		{tag: " -", want: fieldTag{skip: true}},
		{tag: "-,", want: fieldTag{name: "-"}},
		{tag: ",data_type=decimal(38,9)", want: fieldTag{dataType: TypeDecimal, precision: 38, scale: 9}},
		{tag: ",data_type=Complex", want: fieldTag{dataType: TypeJSON}},
		{tag: "a,not_null,merge_key,unique,precision=10,scale=2,timezone=false",
			want: fieldTag{name: "a", notNull: true, mergeKey: true, unique: true, precision: 10, scale: 2, timezone: &f}},
		{tag: ",primarykey", err: `unknown option "primarykey" (options: primary_key,`},
		{tag: ",data_type=money", err: `option data_type="money": unknown type`},
		{tag: ",data_type=decimal(38", err: `unclosed ( in ",data_type=decimal(38"`},
		{tag: ",data_type=decimal(a)", err: `"a" is not a number`},
		{tag: ",precision=abc", err: `option precision="abc": want a number`},
		{tag: ",timezone=maybe", err: `option timezone="maybe": want true or false`},
		{tag: ",not_null=1", err: "option not_null takes no value"},
		{tag: ",precision=5,scale=10", err: "scale 10 is larger than precision 5"},
	}
	for _, c := range cases {
		t.Run(c.tag, func(t *testing.T) {
			got, err := parseTag(c.tag)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want %q", err, c.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %+v (%v), want %+v", got, err, c.want)
			}
		})
	}
}
