package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// defaultChromium is where Debian's chromium package puts the browser;
// SLUICE_CHROMIUM names another one.
const defaultChromium = "/usr/bin/chromium"

// chromiumPath returns the browser for the browser tests, or skips the test.
func chromiumPath(t *testing.T) string {
	t.Helper()
	p := defaultChromium
	if env := os.Getenv("SLUICE_CHROMIUM"); env != "" {
		p = env
	}
	if _, err := os.Stat(p); err != nil {
		t.Skipf("skipping the browser test of `sluice pipeline show`: no Chromium at %s "+
			"(install Debian's chromium package, as .ci/install-chromium.sh does, or set SLUICE_CHROMIUM)", p)
	}
	return p
}

// startShow runs `sluice pipeline blog show --port 0` in-process and returns
// its URL; the server stops at the end of the test.
func startShow(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	var errb bytes.Buffer
	done := make(chan int, 1)
	go func() {
		code := Main(ctx, []string{"pipeline", "blog", "show", "--port", "0"}, strings.NewReader(""), pw, &errb)
		pw.Close()
		done <- code
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("show exit %d: %s", code, errb.String())
			}
		case <-time.After(10 * time.Second):
			t.Error("show did not stop")
		}
	})
	br := bufio.NewReader(pr)
	first, err := br.ReadString('\n')
	if err != nil {
		t.Fatalf("show: first line: %v", err)
	}
	go io.Copy(io.Discard, br)
	return strings.TrimSpace(first)
}

// startChromium starts headless Chromium with a fresh profile and returns a
// chromedp context for one tab; the browser stops at the end of the test.
// The flags keep it off the network (this machine's is closed).
func startChromium(t *testing.T, path string) context.Context {
	t.Helper()
	profile, err := os.MkdirTemp("", "sluice-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	// Registered first, so it runs after the browser stopped; its helper
	// processes may write for a moment after that, so try a few times.
	t.Cleanup(func() {
		for range 50 {
			if os.RemoveAll(profile) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox, // root in CI containers
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 900),
	)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	// The first run starts the browser; it must not carry a timeout.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	return ctx
}

// tableView is what the page shows of a table.
type tableView struct {
	Title   string     `json:"title"`
	Columns [][]string `json:"columns"` // name, type
	Header  []string   `json:"header"`
	Rows    [][]string `json:"rows"`
	Info    string     `json:"info"`
	Active  string     `json:"active"`
	Hash    string     `json:"hash"`
	Prev    bool       `json:"prev"` // enabled
	Next    bool       `json:"next"`
}

const readTableView = `(() => ({
	title: document.getElementById("table-title").textContent,
	columns: [...document.querySelectorAll("#columns li")].map(li => [li.dataset.name, li.dataset.type]),
	header: [...document.querySelectorAll("#preview thead th")].map(th => th.dataset.name),
	rows: [...document.querySelectorAll("#preview tbody tr")].map(tr => [...tr.cells].map(td => td.textContent)),
	info: document.getElementById("page-info").textContent,
	active: document.querySelector("#tables button.active")?.dataset.name ?? "",
	hash: location.hash,
	prev: !document.getElementById("prev").disabled,
	next: !document.getElementById("next").disabled,
}))()`

// column returns the values of the named column of v's rows.
func (v tableView) column(t *testing.T, name string) []string {
	t.Helper()
	i := slices.Index(v.Header, name)
	if i < 0 {
		t.Fatalf("%s: no column %s in %v", v.Title, name, v.Header)
	}
	out := make([]string, len(v.Rows))
	for r, row := range v.Rows {
		out[r] = row[i]
	}
	return out
}

func byNumber(a, b string) int {
	x, _ := strconv.Atoi(a)
	y, _ := strconv.Atoi(b)
	return x - y
}

func seq(from, to int) []string {
	var s []string
	for i := from; i <= to; i++ {
		s = append(s, strconv.Itoa(i))
	}
	return s
}

// TestShowInBrowser loads the blog API into DuckDB, serves it with
// `sluice pipeline blog show`, and drives headless Chromium through the page:
// table list and loads, a click on a table, its columns and preview rows,
// paging, a link by location hash, and the SQL box.
func TestShowInBrowser(t *testing.T) {
	chromium := chromiumPath(t)
	e := setup(t)
	api := newBlogAPI(t)
	if r := sluice(t, t.Context(), "", "run", writeSpec(t, blogSpec(api.URL+"/", e.db))); r.code != 0 {
		t.Fatalf("run: %s", r.stderr)
	}
	base := startShow(t)
	bctx := startChromium(t, chromium)

	var mu sync.Mutex
	var jsErrors []string
	if err := chromedp.Listen(bctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			jsErrors = append(jsErrors, (&chromedp.ExceptionError{ExceptionDetails: ev.ExceptionDetails}).Error())
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError {
				var args []string
				for _, a := range ev.Args {
					args = append(args, string(a.Value))
				}
				jsErrors = append(jsErrors, "console.error: "+strings.Join(args, " "))
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(bctx, 90*time.Second)
	defer cancel()

	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	// wait polls a JavaScript condition.
	wait := func(what, cond string) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](cond, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
			html, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("main").innerText`))
			t.Fatalf("waiting for %s (%s): %v\npage: %s", what, cond, err, html)
		}
	}
	eval := func(expr string, v any) {
		t.Helper()
		raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](expr))
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		if err := json.Unmarshal(raw, v); err != nil {
			t.Fatalf("%s: %v (%s)", expr, err, raw)
		}
	}
	// viewReady is the condition that the table view shows table at offset
	// with n rows.
	viewReady := func(table string, offset, n int) string {
		return fmt.Sprintf(`(() => { const v = document.getElementById("table-view");
			return v.dataset.state === "ready" && v.dataset.table === %q && v.dataset.offset === "%d" &&
				document.querySelectorAll("#preview tbody tr").length === %d; })()`, table, offset, n)
	}
	view := func() tableView {
		t.Helper()
		var v tableView
		eval(readTableView, &v)
		return v
	}

	// The page lists the tables with row counts, and the load.
	do("open "+base, chromedp.Navigate(base))
	wait("the table list and the loads", `document.querySelectorAll("#tables button.table-link").length === 3 &&
		document.querySelectorAll("#loads li.load").length === 1 && !document.getElementById("info").textContent.includes("loading")`)
	var listed [][]string
	eval(`[...document.querySelectorAll("#tables button.table-link")].map(b => [b.dataset.name, b.querySelector(".rows").textContent])`, &listed)
	if want := [][]string{{"comments", "50"}, {"posts", "25"}, {"posts__tags", "50"}}; !reflect.DeepEqual(listed, want) {
		t.Errorf("table list = %v, want %v", listed, want)
	}
	var loadsText []string
	eval(`[...document.querySelectorAll("#loads li.load")].map(l => l.dataset.loadId + " | " + l.textContent)`, &loadsText)
	if len(loadsText) != 1 || !strings.Contains(loadsText[0], "LOADED") {
		t.Errorf("loads = %q", loadsText)
	}
	var info string
	eval(`document.getElementById("info").textContent`, &info)
	if !strings.Contains(info, "duckdb") || !strings.Contains(info, "dataset blog_data") {
		t.Errorf("header = %q", info)
	}

	// Clicking a table shows its columns with types and its rows.
	do("click posts", chromedp.Click(chromedp.CSS(`#tables button.table-link[data-name="posts"]`)))
	wait("the posts preview", viewReady("posts", 0, 25))
	if path := os.Getenv("SLUICE_SHOW_SCREENSHOT"); path != "" {
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot of the posts table in %s", path)
	}
	v := view()
	if v.Title != "posts · 25 rows" || v.Active != "posts" || v.Info != "rows 1–25 of 25" || v.Prev || v.Next {
		t.Errorf("posts view: title %q, active %q, info %q, prev %v, next %v", v.Title, v.Active, v.Info, v.Prev, v.Next)
	}
	if v.Hash != "#table=posts&offset=0&limit=50" {
		t.Errorf("hash = %q", v.Hash)
	}
	types := map[string]string{}
	var names []string
	for _, c := range v.Columns {
		types[c[0]] = c[1]
		names = append(names, c[0])
	}
	if !reflect.DeepEqual(names, v.Header) {
		t.Errorf("column list %v, grid header %v", names, v.Header)
	}
	for name, typ := range map[string]string{"id": "bigint", "title": "text", "author__name": "text",
		"author__age": "bigint", "_dlt_load_id": "text", "_dlt_id": "text"} {
		if types[name] != typ {
			t.Errorf("column %s: type %q, want %q (columns %v)", name, types[name], typ, v.Columns)
		}
	}
	// Rows come in the table's storage order, which follows the order in
	// which the run wrote the API's pages.
	ids, titles, ages := v.column(t, "id"), v.column(t, "title"), v.column(t, "author__age")
	if got := slices.SortedFunc(slices.Values(ids), byNumber); !reflect.DeepEqual(got, seq(1, 25)) {
		t.Errorf("posts ids = %v", ids)
	}
	for i, id := range ids {
		n, _ := strconv.Atoi(id)
		if titles[i] != "post "+id || ages[i] != strconv.Itoa(30+(n-1)%3) {
			t.Errorf("post %s: title %q, author age %q", id, titles[i], ages[i])
		}
	}

	// Paging: 10 rows a page, then next, next, prev.
	// Paging: 10 rows a page, then next, next, prev. The pages are the
	// first view's rows in order.
	do("page size 10", chromedp.Evaluate[chromedp.Void](`(() => { const s = document.getElementById("page-size");
		s.value = "10"; s.dispatchEvent(new Event("change")); })()`))
	wait("page 1 of posts", viewReady("posts", 0, 10))
	if v := view(); !reflect.DeepEqual(v.column(t, "id"), ids[:10]) || v.Info != "rows 1–10 of 25" || v.Prev || !v.Next {
		t.Errorf("page 1: ids %v, want %v; info %q, prev %v, next %v", v.column(t, "id"), ids[:10], v.Info, v.Prev, v.Next)
	}
	do("next", chromedp.Click(chromedp.ID("next")))
	wait("page 2 of posts", viewReady("posts", 10, 10))
	if v := view(); !reflect.DeepEqual(v.column(t, "id"), ids[10:20]) || v.Info != "rows 11–20 of 25" || !v.Prev || !v.Next {
		t.Errorf("page 2: ids %v, want %v; info %q, prev %v, next %v", v.column(t, "id"), ids[10:20], v.Info, v.Prev, v.Next)
	}
	do("next", chromedp.Click(chromedp.ID("next")))
	wait("page 3 of posts", viewReady("posts", 20, 5))
	if v := view(); !reflect.DeepEqual(v.column(t, "id"), ids[20:]) || v.Info != "rows 21–25 of 25" || !v.Prev || v.Next {
		t.Errorf("page 3: ids %v, want %v; info %q, prev %v, next %v", v.column(t, "id"), ids[20:], v.Info, v.Prev, v.Next)
	}
	do("prev", chromedp.Click(chromedp.ID("prev")))
	wait("page 2 of posts again", viewReady("posts", 10, 10))

	// A location hash opens a table page.
	do("hash", chromedp.Evaluate[chromedp.Void](`location.hash = "#table=comments&offset=40&limit=10"`))
	wait("comments by hash", viewReady("comments", 40, 10))
	if v := view(); v.Title != "comments · 50 rows" || v.Active != "comments" || v.Info != "rows 41–50 of 50" || v.Next {
		t.Errorf("comments view: title %q, active %q, info %q, next %v", v.Title, v.Active, v.Info, v.Next)
	}

	// A nested table, by a click: its link columns are there.
	do("click posts__tags", chromedp.Click(chromedp.CSS(`#tables button.table-link[data-name="posts__tags"]`)))
	wait("the posts__tags preview", viewReady("posts__tags", 0, 10))
	v = view()
	for _, c := range []string{"value", "_dlt_parent_id", "_dlt_list_idx", "_dlt_id"} {
		if !slices.Contains(v.Header, c) {
			t.Errorf("posts__tags: no column %s in %v", c, v.Header)
		}
	}
	for _, val := range v.column(t, "value") {
		if val != "a" && val != "b" {
			t.Errorf("posts__tags value %q", val)
		}
	}

	// The SQL box runs a query and refuses a write.
	do("query", chromedp.SetValue(chromedp.ID("sql"), `SELECT count(*) AS n, max(id) AS m FROM posts`),
		chromedp.Click(chromedp.ID("run")))
	wait("the query result", `document.getElementById("query-result").dataset.state === "ready"`)
	var result [][]string
	eval(`[[...document.querySelectorAll("#query-table thead th")].map(th => th.dataset.name),
		...[...document.querySelectorAll("#query-table tbody tr")].map(tr => [...tr.cells].map(td => td.textContent))]`, &result)
	if want := [][]string{{"n", "m"}, {"25", "25"}}; !reflect.DeepEqual(result, want) {
		t.Errorf("query result = %v, want %v", result, want)
	}
	do("write query", chromedp.SetValue(chromedp.ID("sql"), `DROP TABLE posts`), chromedp.Click(chromedp.ID("run")))
	wait("the refusal", `document.getElementById("query-result").dataset.state === "error"`)
	var refusal string
	eval(`document.getElementById("query-result").textContent`, &refusal)
	if !strings.Contains(refusal, "read-only") {
		t.Errorf("write query: %q", refusal)
	}
	if got := queryDB(t, e.db, "SELECT count(*) FROM blog_data.posts"); got[0] != "25" {
		t.Errorf("posts after the write query: %v", got)
	}

	mu.Lock()
	defer mu.Unlock()
	for _, msg := range jsErrors {
		t.Errorf("page error: %s", msg)
	}
}
