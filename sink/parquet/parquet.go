package parquet

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"gocloud.dev/blob"

	"github.com/sluicehq/sluice/arrowbuf"
	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/sink/internal/iceberg"
)

// ErrUnsupportedScheme is wrapped by the errors of a destination whose bucket
// URL names a scheme other than a local path, file:// or s3://.
var ErrUnsupportedScheme = errors.New("parquet: unsupported bucket URL scheme")

// Default file rotation limits.
const (
	DefaultMaxFileSize = 100 << 20 // bytes
	DefaultMaxFileRows = 0         // no row limit
)

// dlt's names in the dataset folder.
const (
	loadsTable   = "_dlt_loads"
	stateTable   = "_dlt_pipeline_state"
	versionTable = "_dlt_version"
	initFile     = "init"
	sep          = "__" // dlt's FILENAME_SEPARATOR
	dataExt      = ".parquet"
	sysExt       = ".jsonl"
	// stagingDir holds loads in progress inside the dataset folder; readers
	// skip dot folders.
	stagingDir = ".sluice-staging"
)

// Option configures a Destination.
type Option func(*Destination)

// WithMaxFileSize rotates a table's file once it holds at least n bytes
// (default DefaultMaxFileSize; n <= 0 means no size limit). Rotation happens
// between batches: a file holds whole row groups.
func WithMaxFileSize(n int64) Option { return func(d *Destination) { d.maxFileSize = n } }

// WithMaxFileRows rotates a table's file once it holds at least n rows
// (default no row limit).
func WithMaxFileRows(n int64) Option { return func(d *Destination) { d.maxFileRows = n } }

// WithCompression sets the Parquet compression codec (default Snappy, as
// dlt's pyarrow writer). compress.Codecs.Zstd writes smaller files.
func WithCompression(c compress.Compression) Option { return func(d *Destination) { d.codec = c } }

// WithDictionary turns Parquet dictionary encoding on (default off: on
// BenchmarkParquetWrite it made arrow-go's writer 2.6x slower and, with
// mostly distinct strings, the Snappy files larger, 37 MB against 30 MB).
func WithDictionary(on bool) Option { return func(d *Destination) { d.dict = on } }

// WithAllocator sets the allocator for record batches built by readers
// (default memory.DefaultAllocator).
func WithAllocator(mem memory.Allocator) Option { return func(d *Destination) { d.mem = mem } }

// WithCredentials sets how an s3:// bucket is opened (default: the AWS
// environment).
func WithCredentials(c Credentials) Option { return func(d *Destination) { d.creds = c } }

// WithBucket writes through a bucket the caller opened (any gocloud.dev
// blob driver: s3blob, gcsblob, azureblob, ...) instead of opening the
// bucket URL; the URL given to New is then only the Location a pipeline
// records. The caller closes the bucket.
func WithBucket(b *blob.Bucket) Option { return func(d *Destination) { d.userBucket = b } }

// Destination writes a dataset as Parquet files in dlt's filesystem layout
// under a bucket: a local folder or an object store. It is safe for
// concurrent use; it holds an object store's connection pool, and no file
// handle, between calls.
type Destination struct {
	location    string // absolute folder, or the bucket URL
	st          store
	err         error // an unusable bucket URL
	maxFileSize int64
	maxFileRows int64
	codec       compress.Compression
	dict        bool
	fastSnappy  bool
	mem         memory.Allocator
	creds       Credentials
	userBucket  *blob.Bucket
	sql         SQL
	tableFormat arrowbuf.TableFormat // of tables without their own
	catalog     CatalogSpec

	lakeMu     sync.Mutex
	lk         *iceberg.Lake // opened by the first Iceberg table
	cat        *iceberg.Catalog
	lakeBucket *blob.Bucket // a local bucket's, for the lake
}

var (
	_ sink.Destination = (*Destination)(nil)
	_ sink.BatchSizer  = (*Destination)(nil)
)

// BatchRows is the record batch size a pipeline uses for this destination
// (sink.BatchSizer), which is also the row group size of the files (pqarrow
// writes one row group per batch): 25,000 rows per table in a local folder,
// 10,000 in an object store. Every batch in flight is memory, and an upload
// is slower than a local write, so more batches wait in the pipeline's
// queues. Loading 500k nested records (3M rows) peaked at 182-212 MB
// locally with 25,000 rows (251 MB with the engine's default 50,000); on S3
// (versitygw) at 294-318 MB with 25,000 and 260 MB with 10,000, at the same
// rows/s and ~4% more CPU.
func (d *Destination) BatchRows() int {
	if d.st != nil && !d.st.Local() {
		return 10_000
	}
	return 25_000
}

// New returns a destination for the bucket: a local folder path, a file://
// URL (made absolute), or s3://bucket[/prefix] (credentials from
// WithCredentials or the AWS environment). Other schemes fail every method
// of the destination with an error wrapping ErrUnsupportedScheme, unless
// WithBucket gives the bucket. Unless WithFastSnappy(false) is given, New
// switches arrow-go's Snappy encoder for the process, once (see
// WithFastSnappy).
func New(bucketURL string, opts ...Option) *Destination {
	d := &Destination{
		maxFileSize: DefaultMaxFileSize,
		maxFileRows: DefaultMaxFileRows,
		codec:       compress.Codecs.Snappy,
		fastSnappy:  true,
		mem:         memory.DefaultAllocator,
	}
	for _, o := range opts {
		o(d)
	}
	if d.fastSnappy {
		useFastSnappy()
	}
	d.location, d.st, d.err = d.open(bucketURL)
	if d.err == nil {
		d.err = d.checkLakeOptions()
	}
	return d
}

// open opens the store of a bucket URL.
func (d *Destination) open(u string) (string, store, error) {
	secrets := d.creds.secrets()
	if d.userBucket != nil {
		return u, &blobStore{b: d.userBucket, url: u, secrets: secrets}, nil
	}
	scheme, _, remote := strings.Cut(u, "://")
	if !remote || scheme == "file" {
		p, err := BucketPath(u)
		if err != nil {
			return u, nil, err
		}
		return p, localStore{root: p}, nil
	}
	if err := CheckBucketURL(u); err != nil {
		return u, nil, err
	}
	pu, _ := url.Parse(u)
	b, err := openS3(context.Background(), pu, d.creds)
	if err != nil {
		return u, nil, fmt.Errorf("parquet: open bucket %s: %w", redactURL(u), (&blobStore{secrets: secrets}).clean(err))
	}
	loc := "s3://" + pu.Host + pu.Path
	return loc, &blobStore{b: b, url: loc, secrets: secrets, owned: true}, nil
}

// CheckBucketURL reports whether New can open the bucket URL by itself: a
// local path, file:// or s3://bucket[/prefix]. The error of another scheme
// wraps ErrUnsupportedScheme. It opens nothing (a spec check).
func CheckBucketURL(u string) error {
	scheme, _, remote := strings.Cut(u, "://")
	if !remote || scheme == "file" {
		_, err := BucketPath(u)
		return err
	}
	if pu, err := url.Parse(u); err != nil || pu.Scheme != "s3" || pu.Host == "" {
		return fmt.Errorf("%w: %q (want a local path, file:// or s3://bucket/path)", ErrUnsupportedScheme, redactURL(u))
	}
	return nil
}

// redactURL drops a URL's user info and query, where credentials hide.
func redactURL(u string) string {
	pu, err := url.Parse(u)
	if err != nil {
		return "(unparsable URL)"
	}
	pu.User, pu.RawQuery = nil, ""
	return pu.String()
}

// BucketPath turns a local bucket URL (a path or file://) into an absolute
// folder, the one New uses; the error of another scheme wraps
// ErrUnsupportedScheme.
func BucketPath(u string) (string, error) {
	p := u
	if rest, ok := strings.CutPrefix(u, "file://"); ok {
		p = rest
		// file://localhost/abs is the same as file:///abs.
		if h, r, ok := strings.Cut(p, "/"); ok && h == "localhost" {
			p = "/" + r
		}
	} else if i := strings.Index(u, "://"); i > 0 {
		return u, fmt.Errorf("%w: %q (not a local path)", ErrUnsupportedScheme, redactURL(u))
	}
	if p == "" {
		return u, fmt.Errorf("parquet: empty bucket URL")
	}
	abs, err := filepath.Abs(filepath.FromSlash(p))
	if err != nil {
		return u, fmt.Errorf("parquet: bucket %q: %w", u, err)
	}
	return abs, nil
}

// Close lets go of the connections of an object store bucket New opened.
func (d *Destination) Close() error {
	err := d.closeLake()
	if d.st == nil {
		return err
	}
	return errors.Join(err, d.st.Close())
}

// Kind returns "filesystem", dlt's name for the destination.
func (d *Destination) Kind() string { return "filesystem" }

// Location returns the absolute path of a local bucket folder, or the
// bucket URL.
func (d *Destination) Location() string { return d.location }

func checkName(what, name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, `/\`) || strings.HasPrefix(name, ".") {
		return fmt.Errorf("parquet: invalid %s name %q", what, name)
	}
	return nil
}

// dataFileName returns dlt's data file name <load_id>.<file_id>.parquet.
func dataFileName(loadID, fileID string) string { return loadID + "." + fileID + dataExt }

// parseDataFile returns the load id of a data file name.
func parseDataFile(name string) (loadID string, ok bool) {
	base, ok := strings.CutSuffix(name, dataExt)
	if !ok {
		return "", false
	}
	i := strings.LastIndexByte(base, '.')
	if i <= 0 || i == len(base)-1 {
		return "", false
	}
	return base[:i], true
}

// pathSafe is dlt's _to_path_safe_string: the hex of a base64 hash. Strings
// that are not padded standard base64 are hex-encoded as they are.
func pathSafe(s string) string {
	if s == "" {
		return ""
	}
	if b, err := base64.StdEncoding.Strict().DecodeString(s); err == nil && len(b) > 0 {
		return hex.EncodeToString(b)
	}
	return hex.EncodeToString([]byte(s))
}

// isoTime formats a time as pendulum's isoformat() does for UTC.
func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.999999-07:00") }

func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999-07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("parquet: bad timestamp %q", s)
}
