package spec

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/arrowbuf"
)

// Planted credential values: errors and the masking list are checked for
// them.
const (
	keyID  = "AKIAPLANTEDKEY123"
	secret = "pl4nted/S3cret+Key"
)

func TestParseObjectStorageDestination(t *testing.T) {
	creds := map[string]string{AWSAccessKeyID: keyID, AWSSecretAccessKey: secret, EndpointURL: "http://127.0.0.1:9000", RegionName: "us-east-1"}
	tests := []struct {
		name, dest string
		want       Destination
	}{
		{"s3 bucket", "destination: {type: parquet, bucket_url: 's3://lake/raw'}", Destination{Type: Parquet, BucketURL: "s3://lake/raw"}},
		{"gs and az are the destination's to judge", "destination: {type: filesystem, bucket_url: 'gs://b'}", Destination{Type: Parquet, BucketURL: "gs://b"}},
		{"az", "destination: {type: filesystem, bucket_url: 'az://c/p'}", Destination{Type: Parquet, BucketURL: "az://c/p"}},
		{"table_format", "destination: {type: parquet, bucket_url: ./o, table_format: iceberg}", Destination{Type: Parquet, BucketURL: dir + "/o", TableFormat: arrowbuf.Iceberg}},
		{"table_format delta", "destination: {type: filesystem, table_format: delta}", Destination{Type: Parquet, BucketURL: dir, TableFormat: arrowbuf.Delta}},
		{"credentials from secrets", `destination:
  type: filesystem
  bucket_url: s3://lake/raw
  credentials:
    aws_access_key_id: "${AWS_KEY}"
    aws_secret_access_key: "${AWS_SECRET}"
    endpoint_url: http://127.0.0.1:9000
    region_name: us-east-1`, Destination{Type: Parquet, BucketURL: "s3://lake/raw", Credentials: creds}},
		{"some credentials", "destination: {type: parquet, bucket_url: 's3://b', credentials: {region_name: eu-west-1}}",
			Destination{Type: Parquet, BucketURL: "s3://b", Credentials: map[string]string{RegionName: "eu-west-1"}}},
		{"sql catalog", "destination: {type: parquet, bucket_url: 's3://b', table_format: iceberg, catalog: {type: sql, uri: 'sqlite:///tmp/c.db'}}",
			Destination{Type: Parquet, BucketURL: "s3://b", TableFormat: arrowbuf.Iceberg, Catalog: &Catalog{Type: "sql", URI: "sqlite:///tmp/c.db"}}},
		{"rest catalog", "destination: {type: parquet, catalog: {type: rest, uri: 'http://127.0.0.1:8181'}}",
			Destination{Type: Parquet, BucketURL: dir, Catalog: &Catalog{Type: "rest", URI: "http://127.0.0.1:8181"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse([]byte("pipeline_name: blog\n"+tt.dest+"\nsource: {}\n"), "spec.yaml", dir,
				&Secrets{Env: env(map[string]string{"AWS_KEY": keyID, "AWS_SECRET": secret})})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(s.Destination, tt.want) {
				t.Errorf("destination = %+v, want %+v", s.Destination, tt.want)
			}
		})
	}
}

// TestCredentialsMasked: the secret credentials are masked even when
// written as they are in the spec; the others are not secrets.
func TestCredentialsMasked(t *testing.T) {
	text := minimal + "destination: {type: parquet, credentials: {aws_access_key_id: " + keyID + ", aws_secret_access_key: '" + secret + "', region_name: us-east-1}}\n"
	s, err := Parse([]byte(text), "spec.yaml", dir, &Secrets{Env: env(nil)})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{keyID, secret} {
		if !slices.Contains(s.Secrets, v) {
			t.Errorf("Secrets %q lacks %q", s.Secrets, v)
		}
	}
	if slices.Contains(s.Secrets, "us-east-1") {
		t.Errorf("region_name is masked: %q", s.Secrets)
	}
}

func TestParseDestinationKeyErrors(t *testing.T) {
	const head = minimal + "destination:\n  type: parquet\n"
	tests := []struct{ name, spec, want string }{
		{"bucket_url empty", minimal + "destination: {type: parquet, bucket_url: ''}\n", `spec.yaml:3:30: destination.bucket_url: expected a non-empty string, got ""`},
		{"bucket_url list", head + "  bucket_url: [s3]\n", `spec.yaml:5:3: destination.bucket_url: expected a non-empty string, got a list`},
		{"table_format unknown", head + "  table_format: hudi\n", `spec.yaml:5:3: destination.table_format: unknown table_format "hudi" (want iceberg, delta or native)`},
		{"table_format number", head + "  table_format: 1\n", `spec.yaml:5:3: destination.table_format: expected a non-empty string, got 1`},
		{"table_format typo", head + "  table_fromat: iceberg\n", `spec.yaml:5:3: destination: unknown field "table_fromat" (did you mean "table_format"?)`},
		{"credentials typo", head + "  credentials:\n    aws_acess_key_id: x\n", `spec.yaml:6:5: destination.credentials: unknown field "aws_acess_key_id" (did you mean "aws_access_key_id"?)`},
		{"credentials region typo", head + "  credentials: {region: us-east-1}\n", `spec.yaml:5:17: destination.credentials: unknown field "region"`},
		{"credentials not a map", head + "  credentials: '${AWS_SECRET}'\n", `spec.yaml:5:3: destination.credentials: expected a mapping of aws_access_key_id, aws_secret_access_key, endpoint_url, region_name, got a string`},
		{"credential not a string", head + "  credentials:\n    aws_secret_access_key: [a]\n", `spec.yaml:6:5: destination.credentials.aws_secret_access_key: expected a non-empty string, got a list`},
		{"credential empty", head + "  credentials:\n    aws_access_key_id: ''\n", `spec.yaml:6:5: destination.credentials.aws_access_key_id: expected a non-empty string, got ""`},
		{"catalog type unknown", head + "  catalog: {type: glue, uri: x}\n", `spec.yaml:5:13: destination.catalog.type: unknown catalog type "glue" (want sql or rest)`},
		{"catalog uri missing", head + "  catalog:\n    type: sql\n", `spec.yaml:5:3: destination.catalog.uri: required field is missing`},
		{"catalog typo", head + "  catalog: {type: sql, url: x}\n", `spec.yaml:5:24: destination.catalog: unknown field "url" (did you mean "uri"?)`},
		{"catalog not a map", head + "  catalog: sql\n", `spec.yaml:5:3: destination.catalog: expected a mapping with type and uri, got a string`},
		{"catalog uri not a string", head + "  catalog: {type: rest, uri: 8181}\n", `spec.yaml:5:25: destination.catalog.uri: expected a non-empty string, got a number`},
		// Keys of object storage are the parquet (filesystem) type's.
		{"table_format with duckdb", minimal + "destination: {type: duckdb, table_format: iceberg}\n", `spec.yaml:3:29: destination: field "table_format" is for type parquet, not duckdb`},
		{"credentials with duckdb", minimal + "destination:\n  type: duckdb\n  credentials: {region_name: x}\n", `spec.yaml:5:3: destination: field "credentials" is for type parquet, not duckdb`},
		{"catalog with duckdb", minimal + "destination:\n  type: duckdb\n  catalog: {type: sql, uri: x}\n", `spec.yaml:5:3: destination: field "catalog" is for type parquet, not duckdb`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.spec), "spec.yaml", dir, &Secrets{Env: env(map[string]string{"AWS_SECRET": secret})})
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("error:\n got %q\nwant %q", err.Error(), tt.want)
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error quotes the secret or has many lines: %q", err)
			}
		})
	}
}
