package bench

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"
)

// API is a loopback benchmark API: GET /items?page=N serves pre-generated
// pages ({"data":[...],"total_pages":T,"next":URL}) for json_link or
// page_number pagination, cycling
// through a fixed pool so memory does not grow with the page count; GET
// /items/{id}/details serves one small object per parent (for child
// requests). Delay is added to every response.
//
// The pages live in a temporary file and are sent with sendfile, as a
// static file server would: they take none of the process's memory (so a
// benchmark's peak RSS is the pipeline's) and little of its CPU.
type API struct {
	URL   string
	file  string
	offs  []int64 // page i is file[offs[i]:offs[i+1]]
	total int
	delay time.Duration
	srv   *http.Server
}

// NewAPI starts an API serving total pages drawn from pool. The caller may
// drop pool once NewAPI returns.
func NewAPI(pool [][]byte, total int, delay time.Duration) (*API, error) {
	f, err := os.CreateTemp("", "sluice-bench-api-*.json")
	if err != nil {
		return nil, err
	}
	a := &API{file: f.Name(), total: total, delay: delay, offs: []int64{0}}
	for _, p := range pool {
		if _, err := f.Write(p); err != nil {
			f.Close()
			os.Remove(a.file)
			return nil, err
		}
		a.offs = append(a.offs, a.offs[len(a.offs)-1]+int64(len(p)))
	}
	if err := f.Close(); err != nil {
		os.Remove(a.file)
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		os.Remove(a.file)
		return nil, err
	}
	a.URL = "http://" + ln.Addr().String()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items", a.items)
	mux.HandleFunc("GET /items/{id}/details", a.details)
	a.srv = &http.Server{Handler: mux}
	go a.srv.Serve(ln)
	return a, nil
}

// Close stops the server and removes its pages.
func (a *API) Close() error {
	err := a.srv.Close()
	os.Remove(a.file)
	return err
}

func (a *API) items(w http.ResponseWriter, r *http.Request) {
	if a.delay > 0 {
		time.Sleep(a.delay)
	}
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	if page < 0 || page >= a.total {
		http.Error(w, "no such page", http.StatusNotFound)
		return
	}
	i := page % (len(a.offs) - 1)
	off, size := a.offs[i], a.offs[i+1]-a.offs[i]
	// The page ends in "]}": send all but the brace, then the page count
	// and the next link.
	tail := fmt.Appendf(nil, `,"total_pages":%d}`, a.total)
	if page+1 < a.total {
		tail = fmt.Appendf(tail[:len(tail)-1], `,"next":"%s/items?page=%d"}`, a.URL, page+1)
	}
	f, err := os.Open(a.file)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	defer f.Close()
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.FormatInt(size-1+int64(len(tail)), 10))
	// A LimitedReader over an *os.File is what net.TCPConn sends with
	// sendfile(2).
	io.Copy(w, &io.LimitedReader{R: f, N: size - 1})
	w.Write(tail)
}

func (a *API) details(w http.ResponseWriter, r *http.Request) {
	if a.delay > 0 {
		time.Sleep(a.delay)
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"id":%q,"rank":%d,"note":"details"}`, r.PathValue("id"), len(r.PathValue("id")))
}
