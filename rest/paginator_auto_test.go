package rest

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/valyala/fastjson"
)

func TestAutoPaginatorFailsLoudly(t *testing.T) {
	srv := serve(t, map[string]http.HandlerFunc{"/items": func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{"data": rowsOf(1, 3), "next_cursor": "abc"})
	}})
	cfg := decode(t, fmt.Sprintf(`{"client":{"base_url":%q},"resources":["items"]}`, srv.URL))
	_, err := tryCollect(cfg, "items")
	if err == nil || !strings.Contains(err.Error(), "could not detect the paginator") || !strings.Contains(err.Error(), "next_cursor") {
		t.Fatalf("err = %v, want a paginator detection error naming next_cursor", err)
	}
}

func TestDetectPaginator(t *testing.T) {
	tests := []struct {
		body string
		link string
		want string // prefix of the description, or "error"
	}{
		{`{"data":[],"next":""}`, "", "json_link (next_url_path: next, last page)"},
		{`{"data":[{}],"_links":{"next":{"href":"/x?p=2"}}}`, "", "json_link (next_url_path: _links.next.href)"},
		{`{"data":[{}],"@odata.nextLink":"https://x/y?skip=2"}`, "", "json_link (next_url_path: $['@odata.nextLink'])"},
		{`[{}]`, `<https://x/y?p=2>; rel="next"`, "header_link"},
		{`{"data":[{}],"meta":{"current_page":1,"last_page":4}}`, "", "page_number (page_param: page, base_page: 1, maximum_page: 5)"},
		{`{"data":[{}],"page":0,"per_page":10,"total":25}`, "", "page_number (page_param: page, base_page: 0, 25 items of 10 per page)"},
		{`{"data":[{}],"pagination":{"skip":0,"limit":2,"total":9}}`, "", "offset (offset_param: skip, limit_param: limit, limit: 2, total_path: pagination.total)"},
		{`{"data":[{}],"offset":0}`, "", "offset (offset_param: offset, limit_param: limit, limit: 1, until an empty page)"},
		{`{"data":[{}],"has_more":true}`, "", "error"},
		{`{"data":[{}],"total":10}`, "", "error"},
		{`{"data":[{}],"total":1}`, "", "single_page"},
		{`{"id":1}`, "", "single_page"},
	}
	for _, tc := range tests {
		root := fastjson.MustParse(tc.body)
		resp := &Response{StatusCode: 200, Header: http.Header{}, json: root}
		if tc.link != "" {
			resp.Header.Set("Link", tc.link)
		}
		_, desc, err := detectPaginator(resp, selectData(root, nil))
		if tc.want == "error" {
			if err == nil {
				t.Errorf("%s: want an error, got %s", tc.body, desc)
			}
			continue
		}
		if err != nil || !strings.HasPrefix(desc, tc.want) {
			t.Errorf("%s: got %q, %v; want %q", tc.body, desc, err, tc.want)
		}
	}
}

// TestDetectPaginatorErrors: what detection cannot use is said in whole
// clauses about the first response.
func TestDetectPaginatorErrors(t *testing.T) {
	const (
		pre  = "could not detect the paginator from the first response: "
		post = "; set endpoint.paginator (paginator: single_page loads the first page only)"
	)
	tests := []struct {
		body, want string
	}{
		{`{"data":[{},{}],"total":25}`, "total says there are 25 items but the page has 2"},
		{`{"data":[{}],"meta":{"total_count":"9"}}`, "meta.total_count says there are 9 items but the page has 1"},
		{`{"data":[{}],"has_more":true}`, "has_more is true but there is no next link, page number or offset to follow"},
		{`{"data":[{}],"next_cursor":"abc"}`, "it has a cursor at next_cursor (paginator type cursor with cursor_path: next_cursor follows it)"},
		{`{"data":[{}],"next":"abc"}`, "next is set but is not a URL"},
		{`{"data":[{}],"page":1}`, "it has a page number at page but no total, page count or has_more to tell when to stop"},
		{`{"data":[{}],"total_pages":3}`, "total_pages says there are 3 pages but there is no page number to follow"},
		{`{"data":[{}],"paging":{"cursor":"x"},"count":5}`, "it has a cursor at paging.cursor (paginator type cursor with cursor_path: paging.cursor follows it); count says there are 5 items but the page has 1"},
	}
	for _, tc := range tests {
		root := fastjson.MustParse(tc.body)
		resp := &Response{StatusCode: 200, Header: http.Header{}, json: root}
		_, _, err := detectPaginator(resp, selectData(root, nil))
		if want := pre + tc.want + post; err == nil || err.Error() != want {
			t.Errorf("%s:\n got %v\nwant %s", tc.body, err, want)
		}
	}
}
