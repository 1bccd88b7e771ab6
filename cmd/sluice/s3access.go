package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/logging"

	"github.com/sluicehq/sluice/cmd/sluice/internal/spec"
	"github.com/sluicehq/sluice/internal/pipeinfo"
)

// A pipeline's working state records an s3:// bucket URL but never its
// credentials: the commands that read the dataset later (info, show,
// export, drop, serve) take them from the AWS environment, as the AWS SDK
// (and dlt's filesystem destination) reads it.
const (
	envAccessKeyID     = "AWS_ACCESS_KEY_ID"
	envSecretAccessKey = "AWS_SECRET_ACCESS_KEY"
	envSessionToken    = "AWS_SESSION_TOKEN"
	envEndpointS3      = "AWS_ENDPOINT_URL_S3"
	envEndpoint        = "AWS_ENDPOINT_URL"
)

// awsEnvSecrets are the values of the AWS credential variables set in the
// environment: the CLI masks them in everything it prints.
func awsEnvSecrets() []string {
	var out []string
	for _, k := range []string{envAccessKeyID, envSecretAccessKey, envSessionToken} {
		if v := os.Getenv(k); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// credentialTimeout bounds the look-up of credentials: beyond the
// environment the SDK may ask a profile's SSO or an EC2 instance's
// metadata service, which on another machine may never answer.
const credentialTimeout = 10 * time.Second

// s3Target is where the AWS environment sends an s3:// bucket's requests.
type s3Target struct {
	endpoint string // "" for AWS S3 itself
}

// resolveS3 checks that the AWS SDK finds credentials in the environment
// (variables, profile, role) for bucketURL. The error names the variables
// that are missing, never a value.
func resolveS3(ctx context.Context, bucketURL string) (s3Target, error) {
	ctx, cancel := context.WithTimeout(ctx, credentialTimeout)
	defer cancel()
	// The SDK's own log lines (an instance metadata fallback) would add
	// lines to the one error line.
	cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithLogger(logging.Nop{}))
	if err != nil {
		return s3Target{}, fmt.Errorf("AWS configuration for %s: %w", bucketURL, err)
	}
	var t s3Target
	if ep := s3.NewFromConfig(cfg).Options().BaseEndpoint; ep != nil {
		t.endpoint = aws.ToString(ep)
	}
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		var missing []string
		for _, k := range []string{envAccessKeyID, envSecretAccessKey} {
			if os.Getenv(k) == "" {
				missing = append(missing, k)
			}
		}
		why := "AWS credentials were not found"
		switch len(missing) {
		case 1:
			why = missing[0] + " is not set"
		case 2:
			why = strings.Join(missing, " and ") + " are not set"
		}
		if p := os.Getenv("AWS_PROFILE"); p != "" {
			// A profile was meant to give them: its own error says why not.
			why += fmt.Sprintf(" and profile %s gave none (%v)", p, err)
		}
		return t, fmt.Errorf("no credentials for %s: %s", bucketURL, why)
	}
	return t, nil
}

// checkS3Pipeline checks that the AWS environment gives credentials for a
// pipeline's s3:// dataset; other locations pass.
func checkS3Pipeline(ctx context.Context, info *pipeinfo.Info) (s3Target, error) {
	if !strings.HasPrefix(info.DestinationLocation, "s3://") {
		return s3Target{}, nil
	}
	t, err := resolveS3(ctx, info.DestinationLocation)
	if err != nil {
		return t, fmt.Errorf("pipeline %q: %w (sluice keeps no credentials in a pipeline's working state; for an S3-compatible server set %s and AWS_REGION too)",
			info.Name, err, envEndpointS3)
	}
	return t, nil
}

// withEndpointHint adds to an error reading a pipeline's s3:// dataset that
// no endpoint was set, when none was: the request went to AWS S3, not to
// the S3-compatible server the pipeline may have loaded to.
func withEndpointHint(err error, info *pipeinfo.Info, t s3Target) error {
	if err == nil || t.endpoint != "" || !strings.HasPrefix(info.DestinationLocation, "s3://") {
		return err
	}
	return fmt.Errorf("%w (neither %s nor %s is set, so this asked AWS S3; set one for an S3-compatible server)", err, envEndpointS3, envEndpoint)
}

// checkSpecS3 checks a spec's s3:// destination before a run makes any
// request: the key pair is given whole in destination.credentials, or the
// AWS environment has credentials. Other destinations pass.
func checkSpecS3(ctx context.Context, s *spec.Spec) error {
	d := s.Destination
	if d.Type != spec.Parquet || !strings.HasPrefix(d.BucketURL, "s3://") {
		return nil
	}
	id, secret := d.Credentials[spec.AWSAccessKeyID], d.Credentials[spec.AWSSecretAccessKey]
	switch {
	case id != "" && secret != "":
		return nil
	case id != "":
		return s.Locate(&spec.Error{Path: "destination.credentials", Msg: spec.AWSSecretAccessKey + " is missing (" + spec.AWSAccessKeyID + " is given)"})
	case secret != "":
		return s.Locate(&spec.Error{Path: "destination.credentials", Msg: spec.AWSAccessKeyID + " is missing (" + spec.AWSSecretAccessKey + " is given)"})
	}
	if _, err := resolveS3(ctx, d.BucketURL); err != nil {
		return s.Locate(&spec.Error{Path: "destination", Msg: err.Error() +
			" (give destination.credentials " + spec.AWSAccessKeyID + " and " + spec.AWSSecretAccessKey + ", or set them in the environment)"})
	}
	return nil
}
