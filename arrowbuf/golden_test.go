package arrowbuf

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/valyala/fastjson"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/golden")

// caseInput is the shape of the dlt reference input.json (and of our own
// golden inputs).
type caseInput struct {
	Doc   string `json:"doc"`
	Loads [][]struct {
		ResourceName string          `json:"resource_name"`
		Hints        json.RawMessage `json:"hints"`
		Data         json.RawMessage `json:"data"`
		// Items says to feed Data through AppendItems (Go maps) instead of
		// AppendJSON; Record through AppendRecord.
		Via string `json:"via,omitempty"`
	} `json:"loads"`
}

type hintDoc struct {
	PrimaryKey       any                    `json:"primary_key"`
	MergeKey         any                    `json:"merge_key"`
	WriteDisposition WriteDisposition       `json:"write_disposition"`
	TableName        string                 `json:"table_name"`
	MaxTableNesting  *int                   `json:"max_table_nesting"`
	Columns          []hintColumn           `json:"columns"`
	Contract         *Contract              `json:"schema_contract"`
	NestedHints      map[string]hintDoc     `json:"nested_hints"`
	Extra            map[string]interface{} `json:"-"`
}

// hintColumn is a column hint read as dlt reads one: nullable unless it
// says otherwise.
type hintColumn Column

func (c *hintColumn) UnmarshalJSON(b []byte) error {
	col := Column{Nullable: true}
	if err := json.Unmarshal(b, &col); err != nil {
		return err
	}
	*c = hintColumn(col)
	return nil
}

func keyList(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, s := range x {
			out = append(out, fmt.Sprint(s))
		}
		return out
	}
	return nil
}

func (h hintDoc) tableHints() TableHints {
	th := TableHints{WriteDisposition: h.WriteDisposition, PrimaryKey: keyList(h.PrimaryKey), MergeKey: keyList(h.MergeKey),
		MaxTableNesting: h.MaxTableNesting, Contract: h.Contract}
	for _, c := range h.Columns {
		th.Columns = append(th.Columns, Column(c))
	}
	if len(h.NestedHints) > 0 {
		th.NestedHints = map[string]TableHints{}
		for k, v := range h.NestedHints {
			th.NestedHints[k] = v.tableHints()
		}
	}
	return th
}

// kv keeps a row's columns in order for golden output.
type kv struct {
	K string
	V any
}
type orderedRow []kv

func (r orderedRow) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, e := range r {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(e.K)
		v, err := json.Marshal(e.V)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

type outTable struct {
	Name             string           `json:"name"`
	Parent           *string          `json:"parent"`
	WriteDisposition WriteDisposition `json:"write_disposition"`
	Columns          []*Column        `json:"columns"`
}

type outLoad struct {
	LoadNo int `json:"load_no"`
	Tables []struct {
		Name string       `json:"name"`
		Rows []orderedRow `json:"rows"`
	} `json:"tables"`
	Error string `json:"error,omitempty"`
}

type caseOutput struct {
	SchemaTables []outTable `json:"schema_tables"`
	Loads        []outLoad  `json:"loads"`
}

// runCase feeds a case through the normalizer, load by load, and returns
// the output in the shape of dlt's expected.json with ids replaced by
// placeholders.
func runCase(t *testing.T, in caseInput) caseOutput {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	s := NewSchema("golden")
	var out caseOutput
	for li, load := range in.Loads {
		loadID := fmt.Sprintf("17000000%02d.123456", li)
		type tb struct {
			name string
			rows []orderedRow
		}
		var tables []*tb
		byName := map[string]*tb{}
		emit := func(b TableBatch) error {
			defer b.Record.Release()
			x := byName[b.Table.Name]
			if x == nil {
				x = &tb{name: b.Table.Name}
				byName[b.Table.Name] = x
				tables = append(tables, x)
			}
			if int(b.Record.NumCols()) != len(b.Table.Columns) {
				t.Errorf("table %s: record has %d fields, snapshot %d columns", b.Table.Name, b.Record.NumCols(), len(b.Table.Columns))
			}
			for r := 0; r < int(b.Record.NumRows()); r++ {
				var row orderedRow
				for c, col := range b.Table.Columns {
					if b.Record.ColumnName(c) != col.Name {
						t.Errorf("table %s: field %d is %s, column %s", b.Table.Name, c, b.Record.ColumnName(c), col.Name)
					}
					if v, ok := cellValue(b.Record.Column(c), r, col); ok {
						row = append(row, kv{col.Name, v})
					}
				}
				x.rows = append(x.rows, row)
			}
			return nil
		}
		n := NewNormalizer(s, loadID, emit, WithAllocator(mem), WithBatchRows(2))
		var loadErr error
		for _, res := range load {
			var h hintDoc
			if len(res.Hints) > 0 {
				if err := json.Unmarshal(res.Hints, &h); err != nil {
					t.Fatal(err)
				}
			}
			table := res.ResourceName
			if h.TableName != "" {
				table = h.TableName
			}
			if err := s.ApplyHints(table, res.ResourceName, h.tableHints()); err != nil {
				t.Fatal(err)
			}
			switch res.Via {
			case "items":
				var items []any
				d := json.NewDecoder(bytes.NewReader(res.Data))
				d.UseNumber()
				if err := d.Decode(&items); err != nil {
					t.Fatal(err)
				}
				loadErr = n.AppendItems(table, items)
			default:
				v, err := fastjson.ParseBytes(res.Data)
				if err != nil {
					t.Fatal(err)
				}
				arr, _ := v.Array()
				loadErr = n.AppendJSON(table, arr)
			}
			if loadErr != nil {
				break
			}
		}
		if loadErr == nil {
			loadErr = n.Flush()
		}
		n.Release()
		ol := outLoad{LoadNo: li}
		if loadErr != nil {
			ol.Error = loadErr.Error()
		}
		// ids -> placeholders
		where := map[string]string{}
		for _, x := range tables {
			for i, r := range x.rows {
				for _, e := range r {
					if e.K == ColID {
						where[e.V.(string)] = fmt.Sprintf("%s:%d", x.name, i)
					}
				}
			}
		}
		// Tables in schema order: batches of different tables interleave.
		var ordered []*tb
		for _, st := range s.Tables() {
			if x := byName[st.Name]; x != nil {
				ordered = append(ordered, x)
			}
		}
		for _, x := range ordered {
			for _, r := range x.rows {
				for i := range r {
					switch r[i].K {
					case ColID:
						if id := r[i].V.(string); len(id) != 14 {
							t.Errorf("table %s: _dlt_id %q is not 14 chars", x.name, id)
						}
						r[i].V = "<dlt_id>"
					case ColLoadID:
						if r[i].V != loadID {
							t.Errorf("table %s: load id %v", x.name, r[i].V)
						}
						r[i].V = "<load_id>"
					case ColParentID:
						r[i].V = "<parent_row:" + where[r[i].V.(string)] + ">"
					case ColRootID:
						r[i].V = "<root_row:" + where[r[i].V.(string)] + ">"
					}
				}
			}
			ol.Tables = append(ol.Tables, struct {
				Name string       `json:"name"`
				Rows []orderedRow `json:"rows"`
			}{x.name, x.rows})
		}
		out.Loads = append(out.Loads, ol)
	}
	for _, tbl := range s.Tables() {
		ot := outTable{Name: tbl.Name, WriteDisposition: tbl.WriteDisposition, Columns: tbl.Columns}
		if tbl.Parent != "" {
			p := tbl.Parent
			ot.Parent = &p
		}
		out.SchemaTables = append(out.SchemaTables, ot)
	}
	return out
}

// cellValue renders a cell as dlt's jsonl writer shows it.
func cellValue(a arrow.Array, i int, col *Column) (any, bool) {
	if a.IsNull(i) {
		return nil, false
	}
	switch x := a.(type) {
	case *array.Int64:
		return json.Number(strconv.FormatInt(x.Value(i), 10)), true
	case *array.Float64:
		return json.Number(pyFloat(x.Value(i))), true
	case *array.Boolean:
		return x.Value(i), true
	case *array.String:
		if col.DataType == TypeJSON {
			return json.RawMessage(x.Value(i)), true
		}
		return x.Value(i), true
	case *array.Timestamp:
		tm := time.UnixMicro(int64(x.Value(i))).UTC()
		if tm.Nanosecond() != 0 {
			return tm.Format("2006-01-02T15:04:05.000000+00:00"), true
		}
		return tm.Format("2006-01-02T15:04:05+00:00"), true
	case *array.Date32:
		return x.Value(i).ToTime().Format(time.DateOnly), true
	case *array.Time64:
		return time.UnixMicro(int64(x.Value(i))).UTC().Format("15:04:05.999999"), true
	}
	return a.ValueStr(i), true
}

// equalJSON compares two JSON documents, numbers by value (2 == 2.0).
func equalJSON(a, b any) bool {
	switch x := a.(type) {
	case json.Number:
		y, ok := b.(json.Number)
		if !ok {
			return false
		}
		rx, ok1 := new(big.Rat).SetString(string(x))
		ry, ok2 := new(big.Rat).SetString(string(y))
		return ok1 && ok2 && rx.Cmp(ry) == 0
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			if w, ok := y[k]; !ok || !equalJSON(v, w) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equalJSON(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}

func decodeNumbers(t *testing.T, raw []byte) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// compareOutput checks schema tables and rows of got against want (both
// in expected.json's shape), reporting the first differences precisely.
func compareOutput(t *testing.T, got caseOutput, wantRaw []byte) {
	t.Helper()
	gotRaw, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	g := decodeNumbers(t, gotRaw).(map[string]any)
	w := decodeNumbers(t, wantRaw).(map[string]any)
	gt, wt := g["schema_tables"].([]any), w["schema_tables"].([]any)
	names := func(ts []any) []string {
		var out []string
		for _, x := range ts {
			out = append(out, x.(map[string]any)["name"].(string))
		}
		return out
	}
	if !reflect.DeepEqual(names(gt), names(wt)) {
		t.Errorf("tables:\n got %v\nwant %v", names(gt), names(wt))
	}
	for i := 0; i < len(gt) && i < len(wt); i++ {
		gx, wx := gt[i].(map[string]any), wt[i].(map[string]any)
		for _, k := range []string{"name", "parent", "write_disposition"} {
			if !equalJSON(gx[k], wx[k]) {
				t.Errorf("table %v %s: got %v want %v", wx["name"], k, gx[k], wx[k])
			}
		}
		gc, wc := gx["columns"].([]any), wx["columns"].([]any)
		for j := 0; j < len(gc) || j < len(wc); j++ {
			var a, b any
			if j < len(gc) {
				a = gc[j]
			}
			if j < len(wc) {
				b = wc[j]
			}
			if !equalJSON(a, b) {
				t.Errorf("table %v column %d:\n got %v\nwant %v", wx["name"], j, a, b)
			}
		}
	}
	gl, wl := g["loads"].([]any), w["loads"].([]any)
	if len(gl) != len(wl) {
		t.Fatalf("loads: got %d want %d", len(gl), len(wl))
	}
	for i := range wl {
		gld, wld := gl[i].(map[string]any), wl[i].(map[string]any)
		if !equalJSON(gld["error"], wld["error"]) {
			t.Errorf("load %d error: got %v want %v", i, gld["error"], wld["error"])
		}
		gtabs, _ := gld["tables"].([]any)
		wtabs, _ := wld["tables"].([]any)
		if !reflect.DeepEqual(names(gtabs), names(wtabs)) {
			t.Errorf("load %d tables: got %v want %v", i, names(gtabs), names(wtabs))
		}
		byName := map[string][]any{}
		for _, x := range gtabs {
			byName[x.(map[string]any)["name"].(string)], _ = x.(map[string]any)["rows"].([]any)
		}
		for _, x := range wtabs {
			name := x.(map[string]any)["name"].(string)
			wrows, _ := x.(map[string]any)["rows"].([]any)
			grows := byName[name]
			if len(grows) != len(wrows) {
				t.Errorf("load %d table %s: got %d rows want %d", i, name, len(grows), len(wrows))
				continue
			}
			for r := range wrows {
				if !equalJSON(grows[r], wrows[r]) {
					t.Errorf("load %d table %s row %d:\n got %v\nwant %v", i, name, r, grows[r], wrows[r])
				}
			}
		}
	}
}

// TestDltReference runs dlt 1.11's observed cases through the normalizer.
func TestDltReference(t *testing.T) {
	dirs, err := filepath.Glob("testdata/dlt/*")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no cases: %v", err)
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			var in caseInput
			raw, err := os.ReadFile(filepath.Join(dir, "input.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(raw, &in); err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(filepath.Join(dir, "expected.json"))
			if err != nil {
				t.Fatal(err)
			}
			compareOutput(t, runCase(t, in), want)
		})
	}
}

// TestGolden runs our own cases; -update rewrites their expected output.
func TestGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/golden/*.input.json")
	if len(files) == 0 {
		t.Fatal("no golden inputs")
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".input.json")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var in caseInput
			if err := json.Unmarshal(raw, &in); err != nil {
				t.Fatal(err)
			}
			got := runCase(t, in)
			gf := strings.TrimSuffix(f, ".input.json") + ".golden.json"
			if *update {
				b, err := json.MarshalIndent(got, "", "  ")
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(gf, append(b, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(gf)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			compareOutput(t, got, want)
		})
	}
}
