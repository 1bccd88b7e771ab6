package bench

import (
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"
)

// API is a loopback benchmark API: GET /items?page=N serves pre-generated
// pages ({"data":[...],"next":URL}) with json_link pagination, cycling
// through a fixed pool so memory does not grow with the page count; GET
// /items/{id}/details serves one small object per parent (for child
// requests). Delay is added to every response.
type API struct {
	URL   string
	pages [][]byte
	total int
	delay time.Duration
	srv   *http.Server
}

// NewAPI starts an API serving total pages drawn from pool.
func NewAPI(pool [][]byte, total int, delay time.Duration) (*API, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	a := &API{URL: "http://" + ln.Addr().String(), pages: pool, total: total, delay: delay}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items", a.items)
	mux.HandleFunc("GET /items/{id}/details", a.details)
	a.srv = &http.Server{Handler: mux}
	go a.srv.Serve(ln)
	return a, nil
}

// Close stops the server.
func (a *API) Close() error { return a.srv.Close() }

func (a *API) items(w http.ResponseWriter, r *http.Request) {
	if a.delay > 0 {
		time.Sleep(a.delay)
	}
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	if page < 0 || page >= a.total {
		http.Error(w, "no such page", http.StatusNotFound)
		return
	}
	body := a.pages[page%len(a.pages)]
	w.Header().Set("Content-Type", "application/json")
	// The page ends in "]}": splice the next link in before the brace.
	w.Write(body[:len(body)-1])
	if page+1 < a.total {
		fmt.Fprintf(w, `,"next":"%s/items?page=%d"}`, a.URL, page+1)
	} else {
		w.Write([]byte(`}`))
	}
}

func (a *API) details(w http.ResponseWriter, r *http.Request) {
	if a.delay > 0 {
		time.Sleep(a.delay)
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"id":%q,"rank":%d,"note":"details"}`, r.PathValue("id"), len(r.PathValue("id")))
}
