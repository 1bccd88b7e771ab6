package main

import (
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluicehq/sluice/sink/sinktest"
)

// s3CrashEnv is a crash test env whose spec loads to s3://crash/lake on
// versitygw. The checks of crash_test.go run on a local copy of the
// dataset's objects (mirror), taken after each run or kill: they see
// exactly what the bucket holds.
type s3CrashEnv struct {
	*crashEnv
	srv sinktest.S3Server
}

const (
	s3CrashBucket = "crash"
	s3CrashPrefix = "lake"
)

func newS3CrashEnv(t *testing.T, api *crashAPI, srv sinktest.S3Server, prefix string) *s3CrashEnv {
	e := &s3CrashEnv{crashEnv: newCrashEnv(t, api, true), srv: srv}
	dest := fmt.Sprintf(`{type: filesystem, bucket_url: "s3://%s/%s", credentials: {aws_access_key_id: "${S3_KEY}", aws_secret_access_key: "${S3_SECRET}", endpoint_url: %q, region_name: %s}}`,
		s3CrashBucket, prefix, srv.Endpoint, srv.Region)
	if err := os.WriteFile(e.spec, []byte(crashSpec(api.URL+"/", dest)), 0o644); err != nil {
		t.Fatal(err)
	}
	e.env = append(e.env, "S3_KEY="+srv.AccessKey, "S3_SECRET="+srv.SecretKey, "AWS_EC2_METADATA_DISABLED=true")
	e.bucket = filepath.Join(t.TempDir(), prefix)
	return e
}

// mirror copies the dataset's objects under the env's prefix to the local
// bucket folder the checks read, after removing the last copy.
func (e *s3CrashEnv) mirror(t *testing.T, prefix string) {
	t.Helper()
	if err := os.RemoveAll(e.bucket); err != nil {
		t.Fatal(err)
	}
	c := e.srv.Client()
	for _, k := range e.srv.Keys(t, s3CrashBucket, prefix+"/") {
		o, err := c.GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String(s3CrashBucket), Key: aws.String(k)})
		if err != nil {
			t.Fatalf("get %s: %v", k, err)
		}
		b, err := io.ReadAll(o.Body)
		o.Body.Close()
		if err != nil {
			t.Fatalf("read %s: %v", k, err)
		}
		p := filepath.Join(e.bucket, filepath.FromSlash(strings.TrimPrefix(k, prefix+"/")))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestS3KillMidLoad kills `sluice run` loading to s3:// with SIGKILL at
// random moments (while files stream up as multipart uploads, during the
// commit), checks after every kill that the bucket shows only whole
// committed loads with the cursor that matches them, and then runs to the
// end: every key loaded exactly once, no file of a killed load left. The
// knobs of TestKillMidLoad apply (SLUICE_KILL_ROUNDS, SLUICE_KILL_SEED,
// SLUICE_KILL_BUSY, SLUICE_KILL_PAGE_DELAY).
func TestS3KillMidLoad(t *testing.T) {
	srv := sinktest.Versitygw(t) // skips without it: before building the binary
	sluiceBinary(t)
	srv.CreateBucket(t, s3CrashBucket)
	seed := uint64(9)
	if s := os.Getenv("SLUICE_KILL_SEED"); s != "" {
		fmt.Sscan(s, &seed)
	}
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	busyCPUs(t)
	api := newCrashAPI(t)

	// Time full runs (a first and a later one) to spread the kills.
	scratch := newS3CrashEnv(t, api, srv, "scratch")
	full := time.Hour
	for i := range 2 {
		start := time.Now()
		if r := runSluice(t, scratch.dir, scratch.env, "run", scratch.spec); r.code != 0 {
			t.Fatalf("calibration run %d: exit %d: %s", i, r.code, r.stderr)
		}
		full = min(full, time.Since(start))
	}
	api.runs.Store(0)

	e := newS3CrashEnv(t, api, srv, s3CrashPrefix)
	var tally killTally
	prev, _ := e.check(t, "before any run")
	kills := 12 * killRounds()
	for i := range kills {
		// Half the kills anywhere in a run, half in its last part (load
		// and commit).
		frac := rng.Float64() * 1.2
		if i%2 == 1 {
			frac = 0.6 + rng.Float64()*0.6
		}
		delay := time.Duration(frac * float64(full))
		start := time.Now()
		c := startSluice(t, e.dir, e.env, "run", e.spec)
		select {
		case <-c.done:
			t.Logf("run %d finished in %v, before its kill at %v", i+1, time.Since(start), delay)
		case <-time.After(delay):
			_ = c.cmd.Process.Signal(syscall.SIGKILL)
			<-c.done
		}
		e.mirror(t, s3CrashPrefix)
		var midRun bool
		prev, midRun = e.judge(t, fmt.Sprintf("kill %d after %v", i+1, delay.Round(time.Millisecond)), c, prev, &tally)
		if midRun && frac > 1 {
			full = full * 6 / 5
		}
	}
	r := runSluice(t, e.dir, e.env, "run", e.spec)
	if r.code != 0 {
		t.Fatalf("final run: exit %d: %s", r.code, r.stderr)
	}
	e.mirror(t, s3CrashPrefix)
	s, _ := e.check(t, "final run")
	visible := api.visible.Load()
	if int64(len(s.eventIDs)) != visible {
		t.Errorf("final: %d events loaded, want all %d exactly once", len(s.eventIDs), visible)
	}
	if stray := e.strayFiles(t, s.loads); len(stray) > 0 {
		t.Errorf("final: uncommitted files still there: %v", stray)
	}
	if s.items != crashItems {
		t.Errorf("final: %d items, want %d", s.items, crashItems)
	}
	t.Logf("s3 kill tally (runs of ~%v): %s; final run: every key exactly once: %v (%d loads, %d events, %d items)",
		full.Round(time.Millisecond), tally, !t.Failed(), len(s.loads), len(s.eventIDs), s.items)
}

// s3Step is one S3 request of a run's load, told by its method and the
// key in its path.
type s3Step struct {
	method string
	key    func(string) bool
}

// s3Point is a moment of an S3 load: the test kills the run when the
// bucket got its steps in order, before the last one reaches the server,
// or (after) once the server answered it.
type s3Point struct {
	name    string
	steps   []s3Step
	after   bool
	commits bool // a run killed there has committed its load
}

func keyHas(s string) func(string) bool { return func(k string) bool { return strings.Contains(k, s) } }

// s3Points walk an S3 load: data files streaming up, the supersede marker
// (merge, replace) and the state put in place, the _dlt_loads file (the
// commit point) on its way and in place, superseded files being deleted.
var s3Points = []s3Point{
	{"data file uploading", []s3Step{{"PUT", keyHas("/items/")}}, false, false},
	{"supersede marker written", []s3Step{{"PUT", keyHas("/.sluice-supersede/")}}, true, false},
	{"state written", []s3Step{{"PUT", keyHas("/_dlt_pipeline_state/")}}, true, false},
	{"_dlt_loads on its way", []s3Step{{"PUT", keyHas("/_dlt_loads/")}}, false, false},
	{"_dlt_loads written", []s3Step{{"PUT", keyHas("/_dlt_loads/")}}, true, true},
	{"superseded files deleting", []s3Step{{"PUT", keyHas("/_dlt_loads/")}, {"DELETE", keyHas("/items/")}}, false, true},
}

// s3KillProxy sits between sluice and versitygw. Armed with a point, it
// holds the request that reaches it and tells the test, which kills the
// run and then lets the request go on.
type s3KillProxy struct {
	*httptest.Server
	mu      sync.Mutex
	point   *s3Point
	next    int
	reached chan struct{}
	release chan struct{}
}

func newS3KillProxy(t *testing.T, target string) *s3KillProxy {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &s3KillProxy{}
	rp := httputil.NewSingleHostReverseProxy(u)
	// A killed run's requests end with "context canceled": expected.
	rp.ErrorLog = log.New(io.Discard, "", 0)
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hit, after := p.step(r)
		if hit && !after {
			// The request never reaches the server.
			p.hold()
			http.Error(w, "killed", http.StatusServiceUnavailable)
			return
		}
		if hit && after {
			// Answer the run only once it is dead: the server did the
			// step, the run never learns it.
			rec := httptest.NewRecorder()
			rp.ServeHTTP(rec, r)
			p.hold()
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.Close)
	return p
}

// arm sets the point of the next run.
func (p *s3KillProxy) arm(pt *s3Point) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.point, p.next = pt, 0
	p.reached, p.release = make(chan struct{}), make(chan struct{})
}

// step advances the armed point with r and reports whether r is its last
// step.
func (p *s3KillProxy) step(r *http.Request) (hit, after bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.point == nil {
		return false, false
	}
	s := p.point.steps[p.next]
	if r.Method != s.method || !s.key(r.URL.Path) {
		return false, false
	}
	if p.next++; p.next < len(p.point.steps) {
		return false, false
	}
	after = p.point.after
	p.point = nil
	return true, after
}

func (p *s3KillProxy) hold() {
	p.mu.Lock()
	reached, release := p.reached, p.release
	p.mu.Unlock()
	close(reached)
	<-release
}

// TestS3KillAtCommitPoints kills `sluice run` loading to s3:// at each
// step of an S3 load (s3Points), twice each, held there by a proxy in
// front of versitygw: after every kill the bucket shows whole committed
// loads only, and a last run loads every key exactly once.
func TestS3KillAtCommitPoints(t *testing.T) {
	srv := sinktest.Versitygw(t) // skips without it: before building the binary
	sluiceBinary(t)
	srv.CreateBucket(t, s3CrashBucket)
	proxy := newS3KillProxy(t, srv.Endpoint)
	viaProxy := srv
	viaProxy.Endpoint = proxy.URL
	api := newCrashAPI(t)
	e := newS3CrashEnv(t, api, viaProxy, s3CrashPrefix)

	var tally killTally
	prev, _ := e.check(t, "before any run")
	for round := range 2 * killRounds() {
		for i := range s3Points {
			pt := &s3Points[i]
			what := fmt.Sprintf("round %d: %s", round+1, pt.name)
			proxy.arm(pt)
			c := startSluice(t, e.dir, e.env, "run", e.spec)
			killed := false
			select {
			case <-proxy.reached:
				_ = c.cmd.Process.Signal(syscall.SIGKILL)
				<-c.done
				close(proxy.release)
				killed = true
			case <-c.done:
				proxy.arm(nil)
				t.Logf("%s: the run finished without reaching it", what)
			}
			e.mirror(t, s3CrashPrefix)
			before := len(prev.loads)
			prev, _ = e.judge(t, what, c, prev, &tally)
			if committed := len(prev.loads) > before; killed && committed != pt.commits {
				t.Errorf("%s: killed there, the load committed: %v, want %v", what, committed, pt.commits)
			}
		}
	}
	proxy.arm(nil)
	r := runSluice(t, e.dir, e.env, "run", e.spec)
	if r.code != 0 {
		t.Fatalf("final run: exit %d: %s", r.code, r.stderr)
	}
	e.mirror(t, s3CrashPrefix)
	s, _ := e.check(t, "final run")
	if int64(len(s.eventIDs)) != api.visible.Load() {
		t.Errorf("final: %d events loaded, want all %d exactly once", len(s.eventIDs), api.visible.Load())
	}
	if stray := e.strayFiles(t, s.loads); len(stray) > 0 {
		t.Errorf("final: uncommitted files still there: %v", stray)
	}
	if s.items != crashItems {
		t.Errorf("final: %d items, want %d", s.items, crashItems)
	}
	t.Logf("s3 commit-point kill tally: %s; final run: every key exactly once: %v (%d loads, %d events, %d items)",
		tally, !t.Failed(), len(s.loads), len(s.eventIDs), s.items)
}
