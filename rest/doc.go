// Package rest is sluice's REST API source, dlt's rest_api: a declarative
// config (dlt's RESTAPIConfig, same keys, same meaning) turned into
// flow resources that page through HTTP APIs and yield parsed JSON batches.
//
// # Entry points
//
//	cfg, err := rest.DecodeConfig(tree, "source") // YAML/JSON tree -> *Config
//	src, err := rest.NewSource(cfg, rest.MaxTableNesting(1))
//	info, err := pipeline.Run(ctx, src)
//
// DecodeConfig validates the tree and rejects unknown or misplaced keys and
// wrong types with a *ConfigError naming the field's path under the prefix
// (`source.resources[0]: unknown field "params"`). Errors never include
// values: they may be secrets. NewSource checks what needs the whole config
// (placeholders, parents, cycles) and reports under the same prefix.
//
// A Go program may build a Config directly; Go values then stand in for
// dlt's Python objects: AuthConfig.Auth (any Auth), PaginatorConfig.New
// (any Paginator), ResponseAction.Hook, ProcessingStep.FilterFunc/MapFunc/
// Step, IncrementalConfig.ConvertFunc, and Go resources as parents
// (Resources option).
//
// # Spec keys
//
// Every key, with its type, default and meaning, is declared once
// (spec.go, auth_spec.go, and each paginator's file); the decoder reads
// exactly those keys, an unknown one is an error suggesting the closest
// (`source.resources[0].endpoint: unknown field "paginatr" (did you mean
// "paginator"?)`), and docs/spec-keys.md is generated from them. In short:
// source has client (base_url, headers, auth, paginator, and sluice's
// timeout, max_attempts or max_retries, backoff_factor, max_retry_delay,
// rate_limit, max_concurrency, max_response_size), resource_defaults
// (any resource key but name, merged under every resource: endpoint
// params, json and headers key by key) and resources (names or maps:
// name, endpoint, table hints, processing_steps, ...). A paginator type
// registered with RegisterPaginator, or an auth type with RegisterAuth,
// reads its own keys.
//
// Lookahead: on GET endpoints, header_link, and json_link and cursor when
// the raw body shows the link or a text cursor for certain (a one-key
// path, the key once in the body, as the object's last member or after
// scalars only), request the next page while this one is parsed; if this
// page then fails (a step's error, JSON broken inside), that request was
// already sent. With a known total or maximum, offset and page_number
// pages are fetched concurrently (up to the client's concurrency ahead)
// and handed on in order; an empty page still ends paging.
//
// Placeholders in path, params, json and headers: {resources.<parent>.<field>}
// (the field may be a path: author.id), {incremental.start_value},
// {incremental.initial_value}, {incremental.last_value},
// {incremental.end_value}, and the names of legacy resolve params. A JSON
// body string that is exactly one placeholder takes the value with its JSON
// type (a number stays a number); inside a longer string the value is text.
// convert applies to every incremental value put into a request.
//
// A value put into a path stays in the path: every byte but letters,
// digits and "-._~" is percent-encoded ("?", "#", "&", " ", "%" too), "/"
// still separates segments as in dlt ({owner_repo} = "owner/repo"). A
// value with a "." or ".." segment ("../../admin") is refused rather than
// escaped, as servers that decode the path before routing would still
// move up; a null or empty value is an error naming the placeholder and
// the parent's field (dlt has no key to skip such items). A path that is
// one placeholder holding a full URL requests that URL. The values given
// with the Secrets option (the CLI gives the spec's ${NAME} values) are
// escaped where they occur in a path as one segment, "/" included
// (EscapePathSegment, the form the CLI also masks), in client.base_url's
// path too. In base_url's scheme or host such a value must be letters,
// digits and "-._~" only (https://${TENANT}.example.com), else the source
// fails, naming client.base_url: a host cannot be escaped. base_url takes
// no {placeholders}.
//
// # Behaviour
//
//   - Paginators: with no paginator (or auto) the first response decides:
//     a Link rel="next" header, a next link in the body, page numbers with
//     a total, a last page or has_more, offsets with a total, has_more or
//     until an empty page; the choice is logged. A response with
//     pagination fields that cannot be followed (a cursor, has_more alone)
//     is an error asking for an explicit paginator; a response without any
//     is a single page. A paginator that asks for the same request twice is
//     an error, not an endless loop.
//   - Pages that do not depend on the previous response (offset and
//     page_number once the total is known) are fetched concurrently,
//     unless the incremental has a row_order.
//   - data_selector is a JSONPath ("data", "results.posts", "$.data[*]",
//     "$['a-b']", "$..id"); a single matched list is expanded. Without one,
//     only a list holds records, as in dlt: the root list; else the least
//     nested list under data, items, results, records, ...; else the least
//     nested list (up to 3 keys deep); a response with no list is one row.
//     A path whose last segment holds a placeholder (posts/{id}) returns
//     one entity, as dlt assumes: unless the endpoint sets them, the whole
//     response is the record ("$") and the paginator is single_page.
//     204 or an empty body is no rows. A data_selector that matches
//     nothing in any page of its resource (a misspelt key; a null or an
//     empty list is a match) is warned about once, naming the resource
//     and the selector (a child resource warns after the first batch of
//     parents whose pages all missed).
//   - Bodies: a UTF-8 byte order mark before the JSON is skipped, as dlt
//     (requests) does; a body with a UTF-16 or UTF-32 mark (FF FE, FE FF,
//     FF FE 00 00, 00 00 FE FF) is decoded to UTF-8 by it, broken units
//     becoming U+FFFD, and errors about it name the encoding. A body that is not JSON fails at once (not retried),
//     naming method, path, status and content type, and, unless the content
//     type says it is something else, the byte offset where it stops being
//     JSON with about 20 bytes on either side, quoted, the source's secrets
//     (the Secrets option's and the auth configs' credentials, raw, path- and
//     query-escaped) masked as *** even where the snippet's edge cuts one.
//   - Incremental, as dlt's: a cursor value that does not compare with
//     the start, end or last value (a number against a string; int and
//     float compare as numbers, ISO date strings as times) fails the run,
//     naming the kinds only. The boundary rows loaded before are matched
//     by the incremental's primary_key, else the resource's, else the
//     whole row. lag starts the next run that far before the stored last
//     value (seconds for date-times, days for dates, units for numbers;
//     never before initial_value) and turns boundary dedup off. With
//     end_value a run is a stateless backfill: it starts at initial_value
//     and leaves state as it was. row_order asc|desc (rows ordered in the
//     direction of last_value_func) stops paging at the first row past
//     end_value (asc) or before the start (desc); such pages are fetched
//     one by one.
//   - Child resources (those with resources.<parent> placeholders or
//     resolve params) are transformers: one request sequence per parent
//     item, as many at once as the client's max_concurrency.
//     include_from_parent adds _<parent>_<field> (normalized) to each row.
//   - Retries: 429, 5xx, connection errors, timeouts and truncated bodies
//     are retried with exponential backoff (dlt's 5 attempts),
//     Retry-After (seconds or an HTTP date; <= 0 ignored) honoured up to
//     max_retry_delay. A host name that does not resolve ("no such host")
//     and a body over max_response_size fail at the first attempt. Each
//     retry is logged at info level (method, path, status or error,
//     attempt n/m, how long it took, the wait) and reported to OnRetry; at
//     debug level each response is logged with its time (and, when it took
//     several attempts, which one and the total). An attempt that runs out
//     of client.timeout says so, with the value. Other statuses >= 400 fail
//     with an *HTTPError naming method, status and URL path (escaped, as
//     sent; never the query or headers) and the attempts made, unless a
//     response action ignores them. A 401 makes an oauth2 auth fetch a new
//     token once and retry. A complete body that is not JSON (an HTML page
//     served with 200) fails at once, naming its content type.
//   - The HTTP stack is a chain of RoundTrippers: retries (outermost) ->
//     rate limit -> concurrency limit -> the transport. One client, one
//     limiter and one concurrency limit serve all resources of a source.
//
// # Hot path and ownership
//
// A page's body is parsed with a fastjson.Parser from a pool, the rows are
// selected, and the page is yielded as flow.JSONBatch whose release returns
// the parser (and the arena of include_from_parent values) to their pools;
// no map[string]any is built unless a processing step asks for Go values.
// Paginators run before a page is yielded: they must not keep its values.
//
// Big pages: a page of 8 MB or more is not parsed whole (its fastjson tree
// would take 5-10 times its size). One scan finds its arrays of 1 MB or
// more; the rest of the page (the skeleton, with those arrays empty) is
// parsed for the selector and the paginator, and when the rows are one of
// those arrays, they are parsed and yielded in parts of about 128 KB of
// JSON (some hundreds of rows, a usual page's batch), one part at a time,
// so that at most the parts in flight are parsed at once; the body is
// released after the last part. Otherwise (the rows hold a big array, a
// selector with indexes or "..", a paginator of the user's, or a resource
// with add_limit, which counts yields as pages) the page is parsed whole.
// Bodies are held in memory whole: a 100 MB page peaks at about 4x its
// size into DuckDB, 3.5x into Parquet (bench/cmd/bigpage). Pages requested
// ahead (planned pages, the next link or cursor) are bounded by 64 MB held
// with the page being handed on, counted in pages of the last body's size:
// pages over 32 MB are fetched one by one.
//
// # Concurrency
//
// Generators and transformers serialize their yields; Go callbacks
// (hooks, steps, Auth, Paginator factories) may be called from several
// goroutines and must be safe for that. A Paginator instance is used by
// one goroutine.
package rest
