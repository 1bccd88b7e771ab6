package flow_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/sluicehq/sluice/arrowbuf"
	"github.com/sluicehq/sluice/flow"
	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/source"
)

// formatDest is discard recording the table format a destination sees:
// at Begin through the request's schema, in Write through each batch's
// Table, and the committed schema document.
type formatDest struct {
	discard
	mu      *sync.Mutex
	atBegin map[string]arrowbuf.TableFormat
	written map[string]arrowbuf.TableFormat
	doc     *[]byte
}

func newFormatDest() formatDest {
	return formatDest{mu: new(sync.Mutex), atBegin: map[string]arrowbuf.TableFormat{}, written: map[string]arrowbuf.TableFormat{}, doc: new([]byte)}
}

func (d formatDest) Begin(_ context.Context, req sink.LoadRequest) (sink.Load, error) {
	for _, name := range []string{"users", "other"} {
		d.atBegin[name] = req.Schema.TableFormatOf(name)
	}
	return formatLoad{d}, nil
}

type formatLoad struct{ d formatDest }

func (l formatLoad) Write(_ context.Context, b arrowbuf.TableBatch) error {
	l.d.mu.Lock()
	l.d.written[b.Table.Name] = b.Table.TableFormat
	l.d.mu.Unlock()
	b.Release()
	return nil
}

func (l formatLoad) Commit(_ context.Context, c sink.Commit) error {
	*l.d.doc = c.SchemaJSON
	return nil
}

func (formatLoad) Rollback() error { return nil }

// TestTableFormatReachesDestination: flow.TableFormat is on the Table of
// every batch of the resource's tables, nested ones included, on the
// request's schema at Begin, and in the committed schema document; a
// resource without it has none.
func TestTableFormatReachesDestination(t *testing.T) {
	for _, f := range []arrowbuf.TableFormat{arrowbuf.Iceberg, arrowbuf.Delta, arrowbuf.Native} {
		t.Run(string(f), func(t *testing.T) {
			d := newFormatDest()
			p, err := flow.NewPipeline("tf", d, flow.PipelinesDir(t.TempDir()))
			if err != nil {
				t.Fatal(err)
			}
			src := flow.NewSource("s", []*flow.Resource{
				source.Slice("users", users(3), flow.TableFormat(f)),
				source.Slice("other", users(2)),
			})
			if _, err := p.Run(context.Background(), src); err != nil {
				t.Fatal(err)
			}
			want := map[string]arrowbuf.TableFormat{"users": f, "users__pets": f, "other": "", "other__pets": ""}
			for name, w := range want {
				if got, ok := d.written[name]; !ok || got != w {
					t.Errorf("Write(%s): table format %q (seen %v), want %q", name, got, ok, w)
				}
			}
			if d.atBegin["users"] != f || d.atBegin["other"] != "" {
				t.Errorf("at Begin: %v, want users %q", d.atBegin, f)
			}
			back, err := arrowbuf.LoadSchema(*d.doc)
			if err != nil {
				t.Fatal(err)
			}
			if got := back.TableFormatOf("users__pets"); got != f {
				t.Errorf("committed schema: users__pets %q, want %q", got, f)
			}
		})
	}
}

func TestTableFormatUnknown(t *testing.T) {
	p, err := flow.NewPipeline("tf", newFormatDest(), flow.PipelinesDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Run(context.Background(), source.Slice("users", users(1), flow.TableFormat("hudi")))
	want := `resource "users": arrowbuf: table "users": unknown table_format "hudi" (want iceberg, delta or native)`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want %s", err, want)
	}
}
