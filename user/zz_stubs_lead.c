// TEMPORARY stand-ins until the helpers' modules are merged. Deleted at merge.
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "output.h"
#include "symbolize.h"
#include "ucall.h"

struct ucall_session *ucall_open(const struct options *o, const pid_t *p, size_t n, const char *e) { (void)o; (void)p; (void)n; (void)e; errno = ENOTSUP; return NULL; }
int ucall_attach(struct ucall_session *s) { (void)s; return -ENOTSUP; }
int ucall_fd(struct ucall_session *s) { (void)s; return -1; }
int ucall_consume(struct ucall_session *s) { (void)s; return 0; }
size_t ucall_nprobes(const struct ucall_session *s) { (void)s; return 0; }
int ucall_finish(struct ucall_session *s, const struct options *o, bool c, FILE *t) { (void)s; (void)o; (void)c; (void)t; return 0; }
void ucall_free(struct ucall_session *s) { (void)s; }
int ucall_cmd_list(const struct options *o) { (void)o; return 1; }
