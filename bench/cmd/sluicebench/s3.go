package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluicehq/sluice/sink/parquet"
)

// s3Phase is REST -> Parquet on S3: versitygw (SLUICE_VERSITYGW, built by
// .ci/run) on loopback with a posix backend on the local disk, next to
// rest-parquet (the same into a local folder). It runs after rest-parquet
// when the binary is there and is left out, with a note, when it is not.
const s3Phase = "rest-parquet-s3"

// withS3 puts the S3 phase after rest-parquet, or takes it out when
// versitygw is missing.
func withS3(phases []string) []string {
	bin := os.Getenv("SLUICE_VERSITYGW")
	if _, err := os.Stat(bin); bin == "" || err != nil {
		if slices.Contains(phases, s3Phase) || slices.Contains(phases, "rest-parquet") {
			fmt.Printf("(no %s row: set SLUICE_VERSITYGW to a versitygw binary, see .ci/run)\n", s3Phase)
		}
		return slices.DeleteFunc(phases, func(p string) bool { return p == s3Phase })
	}
	if i := slices.Index(phases, "rest-parquet"); i >= 0 && !slices.Contains(phases, s3Phase) {
		phases = slices.Insert(phases, i+1, s3Phase)
	}
	return phases
}

// s3Ratio prints REST -> S3 against REST -> local Parquet (issue 17's goal
// is >= 0.7 with peak RSS under 300 MB).
func s3Ratio(shape string, results []result) {
	var local, remote *result
	for i := range results {
		switch results[i].Name {
		case "rest-parquet":
			local = &results[i]
		case s3Phase:
			remote = &results[i]
		}
	}
	if local != nil && remote != nil && local.rate() > 0 {
		fmt.Printf("%s: %s / rest-parquet = %.2f, peak RSS %.0f MB (goal >= 0.7, < 300 MB)\n",
			shape, s3Phase, remote.rate()/local.rate(), remote.PeakRSSMB)
	}
}

// s3Dest starts versitygw in dir and returns a destination on a bucket of
// it, and the function that stops the server.
func s3Dest(dir string) (*parquet.Destination, func(), error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	addr := l.Addr().String()
	l.Close()
	const key, secret = "benchkey", "benchsecret0123456789"
	root := filepath.Join(dir, "s3")
	if err := os.Mkdir(root, 0o755); err != nil {
		return nil, nil, err
	}
	cmd := exec.Command(os.Getenv("SLUICE_VERSITYGW"), "--port", addr, "--access", key, "--secret", secret, "--quiet", "posix", root)
	if err := cmd.Start(); err != nil {
		return nil, nil, fmt.Errorf("start versitygw: %w", err)
	}
	stop := func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			stop()
			return nil, nil, fmt.Errorf("versitygw did not start on %s", addr)
		}
	}
	client := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://" + addr), UsePathStyle: true,
		Credentials:                credentials.NewStaticCredentialsProvider(key, secret, ""),
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired})
	if _, err := client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("bench")}); err != nil {
		stop()
		return nil, nil, fmt.Errorf("create bucket: %w", err)
	}
	d := parquet.New("s3://bench/data", parquet.WithCredentials(parquet.Credentials{
		AccessKeyID: key, SecretAccessKey: secret, EndpointURL: "http://" + addr, Region: "us-east-1"}))
	return d, func() { d.Close(); stop() }, nil
}
