package serve

/*
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

// DuckDB's Linux builds allocate through a private jemalloc with this
// prefix; a weak reference is NULL where the linked DuckDB has none.
extern int duckdb_je_mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen) __attribute__((weak));

static int serve_je_decay_now(void) {
	if (duckdb_je_mallctl == NULL) {
		return -1;
	}
	ssize_t zero = 0;
	unsigned narenas = 0;
	size_t sz = sizeof(narenas);
	duckdb_je_mallctl("arenas.dirty_decay_ms", NULL, NULL, &zero, sizeof(zero));
	duckdb_je_mallctl("arenas.muzzy_decay_ms", NULL, NULL, &zero, sizeof(zero));
	if (duckdb_je_mallctl("arenas.narenas", &narenas, &sz, NULL, 0) != 0) {
		return -2;
	}
	char name[64];
	for (unsigned i = 0; i < narenas; i++) {
		snprintf(name, sizeof(name), "arena.%u.dirty_decay_ms", i);
		duckdb_je_mallctl(name, NULL, NULL, &zero, sizeof(zero));
		snprintf(name, sizeof(name), "arena.%u.muzzy_decay_ms", i);
		duckdb_je_mallctl(name, NULL, NULL, &zero, sizeof(zero));
	}
	return (int)narenas;
}
*/
import "C"

// returnFreedMemory makes DuckDB's jemalloc give freed pages back to the
// system at once instead of after its decay time, as sink/duckdb does for
// loads: a stream frees and allocates DuckDB's read buffers and chunks all
// the time, and the pages waiting to decay grew a server's resident set
// with the size of the table it streamed. Process-wide.
func returnFreedMemory() bool { return C.serve_je_decay_now() >= 0 }
