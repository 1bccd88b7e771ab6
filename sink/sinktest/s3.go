package sinktest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// VersitygwEnv names the versitygw binary the S3 tests run against. .ci/run
// builds it: go install github.com/versity/versitygw/cmd/versitygw@v1.8.0.
const VersitygwEnv = "SLUICE_VERSITYGW"

// S3Server is an S3-compatible server for tests.
type S3Server struct {
	Endpoint  string // http://127.0.0.1:PORT
	AccessKey string
	SecretKey string
	Region    string
}

// Versitygw starts versitygw (an S3 gateway) on a free loopback port with a
// posix backend in a temporary folder, and stops it when the test ends.
// Without the binary (SLUICE_VERSITYGW) the test is skipped, or fails when
// CI=true.
func Versitygw(t testing.TB) S3Server {
	t.Helper()
	bin := os.Getenv(VersitygwEnv)
	if bin == "" {
		missing(t, VersitygwEnv+" is not set")
	}
	if _, err := os.Stat(bin); err != nil {
		missing(t, err.Error())
	}
	s := S3Server{AccessKey: "sluicetestkey", SecretKey: "sluicetestsecret0123456789", Region: "us-east-1"}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	s.Endpoint = "http://" + addr
	var out bytes.Buffer
	cmd := exec.Command(bin, "--port", addr, "--access", s.AccessKey, "--secret", s.SecretKey, "--quiet", "posix", t.TempDir())
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start versitygw: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	// Ready once it accepts connections (about 0.1 s).
	for deadline := time.Now().Add(20 * time.Second); ; {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("versitygw did not start on %s: %s", addr, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return s
}

func missing(t testing.TB, why string) {
	t.Helper()
	msg := fmt.Sprintf("versitygw missing (%s): build it with `GOBIN=$PWD/.ci/bin go install github.com/versity/versitygw/cmd/versitygw@v1.8.0` and set %s=$PWD/.ci/bin/versitygw", why, VersitygwEnv)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// Client is an S3 client of the server, path-style.
func (s S3Server) Client() *s3.Client {
	return s3.New(s3.Options{
		Region:       s.Region,
		BaseEndpoint: aws.String(s.Endpoint),
		UsePathStyle: true,
		// No log line per response of a server without checksums.
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
		Credentials:                credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, ""),
	})
}

// CreateBucket creates a bucket.
func (s S3Server) CreateBucket(t testing.TB, name string) {
	t.Helper()
	if _, err := s.Client().CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("create bucket %s: %v", name, err)
	}
}

// Keys lists the keys of a bucket under prefix.
func (s S3Server) Keys(t testing.TB, bucket, prefix string) []string {
	t.Helper()
	var keys []string
	p := s3.NewListObjectsV2Paginator(s.Client(), &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("list %s/%s: %v", bucket, prefix, err)
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	return keys
}
