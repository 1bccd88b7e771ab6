package rest

import "github.com/sluicehq/sluice/internal/confspec"

// The keys of the built-in auth types (auth.go builds them).
func init() {
	for _, v := range []*confspec.Object{
		{Name: "bearer", Doc: "Authorization: Bearer <token>.", Fields: []*confspec.Field{
			secret(required(key("token", "string", "", ""))),
		}},
		{Name: "http_basic", Fields: []*confspec.Field{
			key("username", "string", "", ""),
			secret(key("password", "string", "", "")),
		}},
		{Name: "api_key", Fields: []*confspec.Field{
			key("name", "string", "Authorization", "The header, query parameter or cookie name."),
			secret(required(key("api_key", "string", "", ""))),
			key("location", "string", "header", "header, query (or param) or cookie."),
		}},
		{Name: "oauth2_client_credentials", Doc: "Fetches a token, and a new one before it expires or after a 401.", Fields: []*confspec.Field{
			required(key("access_token_url", "string", "", "")),
			key("client_id", "string", "", ""),
			secret(key("client_secret", "string", "", "")),
			key("access_token_request_data", "map of string", "", "More form fields of the token request."),
			key("default_token_expiration", "duration", "3600s", "When the response gives no expires_in."),
			secret(key("access_token", "string", "", "A token to start with.")),
		}},
	} {
		addVariant(specAuth, v)
	}
}
