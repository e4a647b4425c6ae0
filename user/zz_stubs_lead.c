// TEMPORARY stand-ins until the helpers' modules are merged. Deleted at merge.
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "output.h"
#include "symbolize.h"
#include "ucall.h"

struct symbolizer { int dummy; };
struct symbolizer *symbolizer_new(void) { return calloc(1, sizeof(struct symbolizer)); }
void symbolizer_free(struct symbolizer *s) { free(s); }
int symbolizer_snapshot(struct symbolizer *s, pid_t pid) { (void)s; (void)pid; return 0; }
void symbolizer_forget(struct symbolizer *s, pid_t pid) { (void)s; (void)pid; }
int symbolizer_resolve_user(struct symbolizer *s, pid_t pid, const uint64_t *a, size_t n, struct sym_info *out)
{ (void)s; (void)pid; (void)a; memset(out, 0, n * sizeof(*out)); return 0; }
int symbolizer_resolve_kernel(struct symbolizer *s, const uint64_t *a, size_t n, struct sym_info *out)
{ (void)s; (void)a; memset(out, 0, n * sizeof(*out)); return 0; }
int pprof_write(FILE *f, const struct profile *p) { (void)f; (void)p; return -ENOTSUP; }
struct profile *pprof_read_mem(const void *d, size_t l) { (void)d; (void)l; errno = ENOTSUP; return NULL; }
struct ucall_session *ucall_open(const struct options *o, const pid_t *p, size_t n, const char *e) { (void)o; (void)p; (void)n; (void)e; errno = ENOTSUP; return NULL; }
int ucall_attach(struct ucall_session *s) { (void)s; return -ENOTSUP; }
int ucall_fd(struct ucall_session *s) { (void)s; return -1; }
int ucall_consume(struct ucall_session *s) { (void)s; return 0; }
size_t ucall_nprobes(const struct ucall_session *s) { (void)s; return 0; }
int ucall_finish(struct ucall_session *s, const struct options *o, bool c, FILE *t) { (void)s; (void)o; (void)c; (void)t; return 0; }
void ucall_free(struct ucall_session *s) { (void)s; }
int ucall_cmd_list(const struct options *o) { (void)o; return 1; }
