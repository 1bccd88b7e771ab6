// Package statedoc is the encoding dlt uses for a pipeline state document
// in _dlt_pipeline_state.state: zlib-compressed JSON, base64. flow encodes
// the state it commits with a load and decodes the one it restores.
package statedoc
