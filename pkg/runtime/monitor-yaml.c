/* The Intravisor-style deployment YAML (specs/monitor-yaml.md) parsed with libyaml's
 * document API, so every error can name file:line:column. Schema-driven: only known keys. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>
#include <yaml.h>

#include "base.h"
#include "cpio.h"
#include "runtime.h"

/* Everything a config owns; the public spec points into it. */
struct cvm_config_storage {
    yaml_document_t doc; /* scalars the spec points to live here */
    bool have_doc;
    size_t n_vms; /* entries of vms and extra */
    struct cvm_vm_spec *vms;
    struct cvm_capfile_spec *capfiles;
    struct cvm_heap_spec *heaps;
    struct vm_extra *extra;        /* per cVM, parallel to vms */
    char *ldso_path, *rootfs_path; /* resolved, or NULL */
    struct cvm_buf ldso, rootfs;   /* cvm_monitor_config_read_files */
    char **strings;                /* every string handed out, freed together */
    size_t n_strings, cap_strings;
};

struct vm_extra {
    struct cvm_buf runtime;
    const char **argv;
    const char **envp;
    char *runtime_path;
    yaml_mark_t runtime_mark, callback_out_mark, callback_in_mark, heap_group_mark;
    const char *callback_out, *callback_in;
    bool have_clean_room;
};

struct parse {
    yaml_document_t *doc;
    const char *display;
    const char *base_dir;
    unsigned flags;
    struct cvm_config_storage *st;
    struct cvm_error **err;
};

static int fail_at(struct parse *p, yaml_mark_t m, enum cvm_error_class code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail_at(struct parse *p, yaml_mark_t m, enum cvm_error_class code, const char *fmt, ...)
{
    char msg[CVM_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return cvm_error_set(p->err, code, "%s:%zu:%zu: %s", p->display, m.line + 1, m.column + 1, msg);
}

static char *keep(struct parse *p, char *s)
{
    struct cvm_config_storage *st = p->st;
    if (!s)
        return NULL;
    if (st->n_strings == st->cap_strings) {
        size_t cap = st->cap_strings ? st->cap_strings * 2 : 32;
        char **n = realloc(st->strings, cap * sizeof(*n));
        if (!n) {
            free(s);
            return NULL;
        }
        st->strings = n;
        st->cap_strings = cap;
    }
    st->strings[st->n_strings++] = s;
    return s;
}

static int oom(struct parse *p)
{
    return cvm_error_set_errno(p->err, ENOMEM, "%s: cannot allocate", p->display);
}

static yaml_node_t *node(struct parse *p, int index)
{
    return yaml_document_get_node(p->doc, index);
}

static const char *scalar(yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* A scalar as a string; NUL bytes inside are refused since every consumer is C. */
static int get_string(struct parse *p, yaml_node_t *n, const char *key, const char **ret)
{
    if (!n || n->type != YAML_SCALAR_NODE)
        return fail_at(p, n ? n->start_mark : (yaml_mark_t){0}, CVM_E_FORMAT,
                       "'%s' must be a string", key);
    if (strlen((const char *)n->data.scalar.value) != n->data.scalar.length)
        return fail_at(p, n->start_mark, CVM_E_FORMAT, "'%s' contains a NUL byte", key);
    *ret = (const char *)n->data.scalar.value;
    return 0;
}

/* Decimal or 0x-hexadecimal, optionally negative where allowed. */
static int get_number(struct parse *p, yaml_node_t *n, const char *key, bool allow_negative,
                      int64_t *ret)
{
    const char *s = scalar(n);
    if (!s)
        return fail_at(p, n->start_mark, CVM_E_FORMAT, "'%s' must be a number", key);
    const char *digits = s;
    bool neg = false;
    if (*digits == '-' && allow_negative)
        neg = true, digits++;
    int base = (digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) ? 16 : 10;
    if (base == 16)
        digits += 2;
    bool ok = *digits != 0;
    uint64_t v = 0;
    for (const char *c = digits; ok && *c; c++) {
        int d = (*c >= '0' && *c <= '9')                 ? *c - '0'
                : (base == 16 && *c >= 'a' && *c <= 'f') ? *c - 'a' + 10
                : (base == 16 && *c >= 'A' && *c <= 'F') ? *c - 'A' + 10
                                                         : -1;
        if (d < 0 || v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
            ok = false;
        else
            v = v * (uint64_t)base + (uint64_t)d;
    }
    if (ok && v > (uint64_t)INT64_MAX)
        ok = false;
    if (!ok)
        return fail_at(p, n->start_mark, CVM_E_FORMAT, "bad number '%s' for '%s'", s, key);
    *ret = neg ? -(int64_t)v : (int64_t)v;
    return 0;
}

static int get_bool(struct parse *p, yaml_node_t *n, const char *key, bool *ret)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};
    const char *s = scalar(n);
    for (size_t i = 0; s && i < 4; i++) {
        if (strcmp(s, yes[i]) == 0)
            return *ret = true, 0;
        if (strcmp(s, no[i]) == 0)
            return *ret = false, 0;
    }
    return fail_at(p, n->start_mark, CVM_E_FORMAT, "'%s' must be true or false", key);
}

/* Iterates a mapping, refusing duplicate and non-scalar keys. */
#define FOR_PAIRS(pr, map)                                                                         \
    for (yaml_node_pair_t *pr = (map)->data.mapping.pairs.start;                                   \
         pr < (map)->data.mapping.pairs.top; pr++)

static int check_keys(struct parse *p, yaml_node_t *map, const char *what)
{
    FOR_PAIRS(a, map)
    {
        yaml_node_t *k = node(p, a->key);
        if (!scalar(k))
            return fail_at(p, k->start_mark, CVM_E_FORMAT, "keys of %s must be strings", what);
        for (yaml_node_pair_t *b = map->data.mapping.pairs.start; b < a; b++)
            if (strcmp(scalar(node(p, b->key)), scalar(k)) == 0)
                return fail_at(p, k->start_mark, CVM_E_FORMAT, "duplicate key '%s' in %s",
                               scalar(k), what);
    }
    return 0;
}

static bool valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 63)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || (c != '_' && c != '-' && c != '.')))
            return false;
    }
    return true;
}

/* A growing NULL-terminated list of strings. */
struct str_list {
    const char **items;
    size_t count, cap;
};

static int list_push(struct parse *p, struct str_list *l, const char *s)
{
    if (l->count + 1 >= l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        const char **n = realloc(l->items, cap * sizeof(*n));
        if (!n)
            return oom(p);
        l->items = n;
        l->cap = cap;
    }
    l->items[l->count++] = s;
    l->items[l->count] = NULL;
    return 0;
}

/* args: one string split on blanks (Intravisor's form) or a sequence of strings. */
static int parse_args(struct parse *p, yaml_node_t *n, const char *key, const char ***ret,
                      size_t *ret_count, bool env)
{
    struct str_list l = {0};
    int r = 0;
    if (n->type == YAML_SCALAR_NODE && !env) {
        const char *s;
        r = get_string(p, n, key, &s);
        while (r == 0 && *s) {
            s += strspn(s, " \t");
            size_t len = strcspn(s, " \t");
            if (!len)
                break;
            char *word = keep(p, strndup(s, len));
            r = word ? list_push(p, &l, word) : oom(p);
            s += len;
        }
    } else if (r == 0 && n->type == YAML_SEQUENCE_NODE) {
        for (yaml_node_item_t *it = n->data.sequence.items.start;
             r == 0 && it < n->data.sequence.items.top; it++) {
            const char *s;
            if ((r = get_string(p, node(p, *it), key, &s)) < 0)
                break;
            if (env && (!strchr(s, '=') || s[0] == '='))
                r = fail_at(p, node(p, *it)->start_mark, CVM_E_FORMAT,
                            "'env' entry '%s' is "
                            "not KEY=VALUE",
                            s);
            else
                r = list_push(p, &l, s);
        }
    } else if (r == 0) {
        r = fail_at(p, n->start_mark, CVM_E_FORMAT,
                    env ? "'env' must be a list of KEY=VALUE "
                          "strings"
                        : "'args' must be a string or a list of strings");
    }
    if (r == 0 && !l.items && !(l.items = calloc(1, sizeof(*l.items))))
        r = oom(p); /* an empty list is still a NULL-terminated list */
    if (r < 0) {
        free(l.items);
        return r;
    }
    *ret = l.items;
    *ret_count = l.count;
    return 0;
}

/* isolation: a mapping, or Intravisor's one-element list of one. */
static int parse_isolation(struct parse *p, yaml_node_t *n, struct cvm_vm_spec *vm)
{
    if (n->type == YAML_SEQUENCE_NODE) {
        if (n->data.sequence.items.top - n->data.sequence.items.start != 1)
            return fail_at(p, n->start_mark, CVM_E_FORMAT,
                           "'isolation' of cVM '%s' must hold "
                           "one entry",
                           vm->name);
        n = node(p, *n->data.sequence.items.start);
    }
    if (n->type != YAML_MAPPING_NODE)
        return fail_at(p, n->start_mark, CVM_E_FORMAT,
                       "'isolation' of cVM '%s' must be a "
                       "mapping of base, size, begin, end",
                       vm->name);
    int r = check_keys(p, n, "'isolation'");
    if (r < 0)
        return r;
    int64_t v[4] = {-1, -1, -1, -1};
    yaml_mark_t marks[4];
    static const char *const keys[] = {"base", "size", "begin", "end"};
    FOR_PAIRS(pr, n)
    {
        const char *k = scalar(node(p, pr->key));
        size_t i = 0;
        while (i < 4 && strcmp(k, keys[i]) != 0)
            i++;
        if (i == 4)
            return fail_at(p, node(p, pr->key)->start_mark, CVM_E_FORMAT,
                           "unknown key '%s' in "
                           "'isolation' of cVM '%s'",
                           k, vm->name);
        if ((r = get_number(p, node(p, pr->value), keys[i], false, &v[i])) < 0)
            return r;
        marks[i] = node(p, pr->value)->start_mark;
    }
    for (int i = 0; i < 2; i++)
        if (v[i] < 0)
            return fail_at(p, n->start_mark, CVM_E_FORMAT,
                           "'isolation' of cVM '%s' has no "
                           "'%s'",
                           vm->name, keys[i]);
    if (v[0] % 4096 || v[1] % 4096 || v[1] == 0 || v[0] == 0)
        return fail_at(p, marks[v[0] % 4096 || v[0] == 0 ? 0 : 1], CVM_E_FORMAT,
                       "window of "
                       "cVM '%s' must have a non-zero, 4 KiB-aligned base and size",
                       vm->name);
    /* This backend's bounds are the window itself; begin/end may only restate them. */
    if (v[2] >= 0 && v[2] != v[0])
        return fail_at(p, marks[2], CVM_E_UNSUPPORTED,
                       "'begin' of cVM '%s' must equal 'base' "
                       "(0x%" PRIx64 ")",
                       vm->name, (uint64_t)v[0]);
    if (v[3] >= 0 && (uint64_t)v[3] != (uint64_t)v[0] + (uint64_t)v[1])
        return fail_at(p, marks[3], CVM_E_UNSUPPORTED,
                       "'end' of cVM '%s' must equal base + "
                       "size (0x%" PRIx64 ")",
                       vm->name, (uint64_t)v[0] + (uint64_t)v[1]);
    vm->base = (uint64_t)v[0];
    vm->size = (uint64_t)v[1];
    return 0;
}

/* In an image or build file every path names a file inside the folder (the build context or
 * the unpacked image): relative, without '..', so that no host path reaches an image. */
static int check_inside(struct parse *p, yaml_node_t *v, const char *key, const char *s)
{
    if (!(p->flags & CVM_CONFIG_IMAGE))
        return 0;
    bool escapes = s[0] == '/';
    for (const char *c = s; !escapes;) {
        size_t len = strcspn(c, "/");
        escapes = len == 2 && c[0] == '.' && c[1] == '.';
        if (!c[len])
            break;
        c += len + 1;
    }
    if (escapes)
        return fail_at(p, v->start_mark, CVM_E_FORMAT,
                       "'%s' path '%s' must stay inside the folder (relative, no '..')", key, s);
    return 0;
}

/* A path-valued top-level key of an image or build file. */
static int get_path(struct parse *p, yaml_node_t *v, const char *key, char **ret)
{
    const char *s;
    int r = get_string(p, v, key, &s);
    if (r < 0)
        return r;
    if (!s[0])
        return fail_at(p, v->start_mark, CVM_E_FORMAT, "'%s' is empty", key);
    if ((r = check_inside(p, v, key, s)) < 0)
        return r;
    if (!(*ret = keep(p, cvm_path_resolve(p->base_dir, s))))
        return oom(p);
    return 0;
}

static int parse_vm(struct parse *p, yaml_node_t *n, size_t index)
{
    struct cvm_vm_spec *vm = &p->st->vms[index];
    struct vm_extra *x = &p->st->extra[index];
    if (n->type != YAML_MAPPING_NODE)
        return fail_at(p, n->start_mark, CVM_E_FORMAT, "each entry of 'cVMs' must be a mapping");
    int r = check_keys(p, n, "a cVM");
    if (r < 0)
        return r;
    *vm = (struct cvm_vm_spec){.callback_out = CVM_CALLBACK_MONITOR,
                               .callback_in = CVM_CALLBACK_MONITOR,
                               .clean_room = true};
    FOR_PAIRS(pr, n)
    {
        if (strcmp(scalar(node(p, pr->key)), "name") == 0 &&
            (r = get_string(p, node(p, pr->value), "name", &vm->name)) < 0)
            return r;
    }
    if (!vm->name)
        return fail_at(p, n->start_mark, CVM_E_FORMAT, "cVM %zu has no 'name'", index + 1);
    if (!valid_name(vm->name))
        return fail_at(p, n->start_mark, CVM_E_FORMAT,
                       "cVM name '%s' must be 1-63 letters, "
                       "digits, '.', '_' or '-', starting with a letter or digit",
                       vm->name);
    for (size_t i = 0; i < index; i++)
        if (strcmp(p->st->vms[i].name, vm->name) == 0)
            return fail_at(p, n->start_mark, CVM_E_CONFLICT, "two cVMs are named '%s'", vm->name);
    bool have_isolation = false;
    FOR_PAIRS(pr, n)
    {
        const char *k = scalar(node(p, pr->key));
        yaml_node_t *v = node(p, pr->value);
        int64_t num;
        if (strcmp(k, "name") == 0) {
            continue;
        } else if (strcmp(k, "runtime") == 0) {
            const char *s;
            if ((r = get_string(p, v, k, &s)) < 0)
                return r;
            if (!s[0])
                return fail_at(p, v->start_mark, CVM_E_FORMAT, "'runtime' of cVM '%s' is empty",
                               vm->name);
            if ((r = check_inside(p, v, k, s)) < 0)
                return r;
            vm->runtime_name = cvm_path_basename(s);
            if (!(x->runtime_path = keep(p, cvm_path_resolve(p->base_dir, s))))
                return oom(p);
            x->runtime_mark = v->start_mark;
        } else if (strcmp(k, "args") == 0) {
            if ((r = parse_args(p, v, k, &x->argv, &vm->argc, false)) < 0)
                return r;
        } else if (strcmp(k, "env") == 0) {
            if ((r = parse_args(p, v, k, &x->envp, &vm->envc, true)) < 0)
                return r;
        } else if (strcmp(k, "isolation") == 0) {
            if ((r = parse_isolation(p, v, vm)) < 0)
                return r;
            have_isolation = true;
        } else if (strcmp(k, "callback_out") == 0 || strcmp(k, "callback_in") == 0) {
            bool out = k[9] == 'o';
            const char *s;
            if ((r = get_string(p, v, k, &s)) < 0)
                return r;
            *(out ? &x->callback_out : &x->callback_in) = s;
            *(out ? &x->callback_out_mark : &x->callback_in_mark) = v->start_mark;
        } else if (strcmp(k, "wait") == 0) {
            if ((r = get_number(p, v, k, true, &num)) < 0)
                return r;
            if (num < -1 || num > 86400)
                return fail_at(p, v->start_mark, CVM_E_FORMAT,
                               "'wait' must be -1 (join) or 0 "
                               "to 86400 seconds");
            vm->wait_seconds = (int)num;
        } else if (strcmp(k, "clean_room") == 0) {
            if ((r = get_bool(p, v, k, &vm->clean_room)) < 0)
                return r;
            x->have_clean_room = true;
        } else if (strcmp(k, "heap_group") == 0) {
            if ((r = get_string(p, v, k, &vm->heap_group)) < 0)
                return r;
            x->heap_group_mark = v->start_mark;
        } else if (strcmp(k, "abi") == 0) {
            const char *s;
            if ((r = get_string(p, v, k, &s)) < 0)
                return r;
            if (strcmp(s, "cvm") != 0 && strcmp(s, "linux") != 0)
                return fail_at(p, v->start_mark, CVM_E_FORMAT,
                               "'abi' of cVM '%s' must be 'cvm' or 'linux', not '%s'", vm->name, s);
            vm->abi = s[0] == 'l' ? CVM_ABI_LINUX : CVM_ABI_CVM;
        } else {
            return fail_at(p, node(p, pr->key)->start_mark, CVM_E_FORMAT,
                           "unknown key '%s' in "
                           "cVM '%s'",
                           k, vm->name);
        }
    }
    if (!x->runtime_path)
        return fail_at(p, n->start_mark, CVM_E_FORMAT, "cVM '%s' has no 'runtime'", vm->name);
    /* A heap group makes the heap shared; clean_room may restate that, not contradict it. */
    if (vm->heap_group && x->have_clean_room && vm->clean_room)
        return fail_at(p, x->heap_group_mark, CVM_E_FORMAT,
                       "heap_group '%s' of cVM '%s' needs clean_room: false", vm->heap_group,
                       vm->name);
    if (vm->heap_group)
        vm->clean_room = false;
    if (!vm->clean_room && !vm->heap_group)
        return fail_at(p, n->start_mark, CVM_E_FORMAT,
                       "cVM '%s' has clean_room: false but no 'heap_group'", vm->name);
    if (!have_isolation)
        return fail_at(p, n->start_mark, CVM_E_FORMAT, "cVM '%s' has no 'isolation'", vm->name);
    if (!x->argv) {
        /* No args: argv is just the runtime's name, as a shell would start it. */
        if (!(x->argv = calloc(2, sizeof(*x->argv))))
            return oom(p);
        x->argv[0] = vm->runtime_name;
        vm->argc = 1;
    }
    vm->argv = x->argv;
    vm->envp = x->envp;
    return 0;
}

/* A callback target: a cVM name, else a runtime file name (Intravisor's form), or monitor. */
static int resolve_callback(struct parse *p, size_t self, const char *target, yaml_mark_t mark,
                            const char *key, int *ret)
{
    const struct cvm_config_storage *st = p->st;
    if (!target || strcmp(target, "monitor") == 0) {
        *ret = CVM_CALLBACK_MONITOR;
        return 0;
    }
    int found = -1;
    size_t count = 0;
    for (size_t i = 0; st->vms[i].name; i++) {
        if (strcmp(st->vms[i].name, target) == 0) {
            found = (int)i;
            count = 1;
            break;
        }
        if (strcmp(st->vms[i].runtime_name, target) == 0) {
            found = (int)i;
            count++;
        }
    }
    if (count == 0)
        return fail_at(p, mark, CVM_E_NOTFOUND, "%s '%s' of cVM '%s' names no cVM", key, target,
                       st->vms[self].name);
    if (count > 1)
        return fail_at(p, mark, CVM_E_CONFLICT,
                       "%s '%s' of cVM '%s' matches the runtime of "
                       "several cVMs; use a cVM name",
                       key, target, st->vms[self].name);
    if ((size_t)found == self)
        return fail_at(p, mark, CVM_E_FORMAT, "%s of cVM '%s' names the cVM itself", key, target);
    *ret = found;
    return 0;
}

static int parse_capfile(struct parse *p, yaml_node_t *n, struct cvm_capfile_spec *c)
{
    if (n->type != YAML_MAPPING_NODE)
        return fail_at(p, n->start_mark, CVM_E_FORMAT,
                       "each entry of 'capfiles' must be a "
                       "mapping");
    int r = check_keys(p, n, "a capfile");
    if (r < 0)
        return r;
    int64_t size = -1;
    yaml_mark_t size_mark = n->start_mark;
    FOR_PAIRS(pr, n)
    {
        const char *k = scalar(node(p, pr->key));
        yaml_node_t *v = node(p, pr->value);
        if (strcmp(k, "name") == 0) {
            if ((r = get_string(p, v, k, &c->name)) < 0)
                return r;
            if (!c->name[0] || strlen(c->name) > CVM_CAPFILE_NAME_MAX)
                return fail_at(p, v->start_mark, CVM_E_FORMAT,
                               "capfile name must be 1 to %d "
                               "bytes",
                               CVM_CAPFILE_NAME_MAX);
        } else if (strcmp(k, "size") == 0) {
            if ((r = get_number(p, v, k, false, &size)) < 0)
                return r;
            size_mark = v->start_mark;
        } else if (strcmp(k, "data") == 0) {
            if (v->type != YAML_SCALAR_NODE)
                return fail_at(p, v->start_mark, CVM_E_FORMAT, "'data' must be a string");
            c->data = v->data.scalar.value;
            c->data_len = v->data.scalar.length;
        } else {
            return fail_at(p, node(p, pr->key)->start_mark, CVM_E_FORMAT,
                           "unknown key '%s' in "
                           "a capfile",
                           k);
        }
    }
    if (!c->name)
        return fail_at(p, n->start_mark, CVM_E_FORMAT, "capfile has no 'name'");
    c->size = size < 0 ? (c->data_len ? c->data_len : 4096) : (uint64_t)size;
    if (c->size == 0 || c->size > (1ULL << 32) || c->data_len > c->size)
        return fail_at(p, size_mark, CVM_E_FORMAT,
                       "capfile '%s' size must be 1 byte to 4 GiB "
                       "and hold its %zu bytes of data",
                       c->name, c->data_len);
    return 0;
}

/* A shared heap: name, size and an optional base (specs/monitor-yaml.md §5). */
static int parse_heap(struct parse *p, yaml_node_t *n, struct cvm_heap_spec *h)
{
    if (n->type != YAML_MAPPING_NODE)
        return fail_at(p, n->start_mark, CVM_E_FORMAT, "each entry of 'heaps' must be a mapping");
    int r = check_keys(p, n, "a heap");
    if (r < 0)
        return r;
    int64_t v[2] = {-1, -1};
    static const char *const keys[] = {"base", "size"};
    FOR_PAIRS(pr, n)
    {
        const char *k = scalar(node(p, pr->key));
        yaml_node_t *val = node(p, pr->value);
        size_t i = strcmp(k, "base") == 0 ? 0 : strcmp(k, "size") == 0 ? 1 : 2;
        if (strcmp(k, "name") == 0) {
            if ((r = get_string(p, val, k, &h->name)) < 0)
                return r;
            if (!valid_name(h->name))
                return fail_at(p, val->start_mark, CVM_E_FORMAT,
                               "heap name '%s' must be 1-63 letters, digits, '.', '_' or '-', "
                               "starting with a letter or digit",
                               h->name);
        } else if (i < 2) {
            if ((r = get_number(p, val, keys[i], false, &v[i])) < 0)
                return r;
            if ((i == 0 && (v[0] == 0 || v[0] % 4096)) ||
                (i == 1 && (v[1] == 0 || v[1] % 4096 || (uint64_t)v[1] > CVM_HEAP_MAX_SIZE)))
                return fail_at(p, val->start_mark, CVM_E_FORMAT,
                               i == 0 ? "heap 'base' must be non-zero and 4 KiB-aligned"
                                      : "heap 'size' must be a multiple of 4 KiB, from 4 KiB "
                                        "to 64 GiB");
        } else {
            return fail_at(p, node(p, pr->key)->start_mark, CVM_E_FORMAT,
                           "unknown key '%s' in a heap", k);
        }
    }
    if (!h->name)
        return fail_at(p, n->start_mark, CVM_E_FORMAT, "heap has no 'name'");
    if (v[1] < 0)
        return fail_at(p, n->start_mark, CVM_E_FORMAT, "heap '%s' has no 'size'", h->name);
    h->base = v[0] < 0 ? 0 : (uint64_t)v[0];
    h->size = (uint64_t)v[1];
    return 0;
}

/* heaps: every entry well-formed and used; every heap_group names one of them. */
static int parse_heaps(struct parse *p, yaml_node_t *heaps, size_t *ret_n)
{
    struct cvm_config_storage *st = p->st;
    size_t nh = 0;
    int r;
    if (heaps) {
        if (heaps->type != YAML_SEQUENCE_NODE)
            return fail_at(p, heaps->start_mark, CVM_E_FORMAT, "'heaps' must be a list");
        nh = (size_t)(heaps->data.sequence.items.top - heaps->data.sequence.items.start);
        if (nh > CVM_MAX_HEAPS)
            return fail_at(p, heaps->start_mark, CVM_E_LIMIT,
                           "'heaps' holds %zu entries, at most %d allowed", nh, CVM_MAX_HEAPS);
        if (nh && !(st->heaps = calloc(nh, sizeof(*st->heaps))))
            return oom(p);
    }
    for (size_t i = 0; i < nh; i++) {
        yaml_node_t *h = node(p, heaps->data.sequence.items.start[i]);
        if ((r = parse_heap(p, h, &st->heaps[i])) < 0)
            return r;
        for (size_t k = 0; k < i; k++)
            if (strcmp(st->heaps[k].name, st->heaps[i].name) == 0)
                return fail_at(p, h->start_mark, CVM_E_CONFLICT, "two heaps are named '%s'",
                               st->heaps[i].name);
    }
    for (size_t i = 0; i < st->n_vms; i++) {
        const char *g = st->vms[i].heap_group;
        size_t k = 0;
        while (g && k < nh && strcmp(st->heaps[k].name, g) != 0)
            k++;
        if (g && k == nh)
            return fail_at(p, st->extra[i].heap_group_mark, CVM_E_NOTFOUND,
                           "heap_group '%s' of cVM '%s' names no heap in 'heaps'", g,
                           st->vms[i].name);
    }
    for (size_t k = 0; k < nh; k++) {
        size_t i = 0;
        while (i < st->n_vms &&
               !(st->vms[i].heap_group && strcmp(st->vms[i].heap_group, st->heaps[k].name) == 0))
            i++;
        if (i == st->n_vms)
            return fail_at(p, node(p, heaps->data.sequence.items.start[k])->start_mark,
                           CVM_E_FORMAT, "heap '%s' is the heap_group of no cVM",
                           st->heaps[k].name);
    }
    *ret_n = nh;
    return 0;
}

static int parse_root(struct parse *p, yaml_node_t *root, struct cvm_deploy_spec *spec)
{
    if (!root)
        return cvm_error_set(p->err, CVM_E_FORMAT, "%s: empty document", p->display);
    if (root->type != YAML_MAPPING_NODE)
        return fail_at(p, root->start_mark, CVM_E_FORMAT,
                       "the document must be a mapping with "
                       "'cVMs'");
    int r = check_keys(p, root, "the document");
    if (r < 0)
        return r;
    yaml_node_t *vms = NULL, *caps = NULL, *heaps = NULL;
    FOR_PAIRS(pr, root)
    {
        const char *k = scalar(node(p, pr->key));
        if (strcmp(k, "cVMs") == 0)
            vms = node(p, pr->value);
        else if (strcmp(k, "capfiles") == 0)
            caps = node(p, pr->value);
        else if (strcmp(k, "heaps") == 0)
            heaps = node(p, pr->value);
        else if (strcmp(k, "ldso") == 0)
            r = get_path(p, node(p, pr->value), k, &p->st->ldso_path);
        else if (strcmp(k, "rootfs") == 0)
            r = get_path(p, node(p, pr->value), k, &p->st->rootfs_path);
        else
            return fail_at(p, node(p, pr->key)->start_mark, CVM_E_FORMAT,
                           "unknown key '%s' at "
                           "the top level",
                           k);
        if (r < 0)
            return r;
    }
    if (!vms || vms->type != YAML_SEQUENCE_NODE ||
        vms->data.sequence.items.top == vms->data.sequence.items.start)
        return fail_at(p, vms ? vms->start_mark : root->start_mark, CVM_E_FORMAT,
                       "'cVMs' must be a non-empty list");
    size_t n = (size_t)(vms->data.sequence.items.top - vms->data.sequence.items.start);
    struct cvm_config_storage *st = p->st;
    /* One spare zeroed entry ends the list for resolve_callback. */
    st->vms = calloc(n + 1, sizeof(*st->vms));
    st->extra = calloc(n, sizeof(*st->extra));
    if (!st->vms || !st->extra)
        return oom(p);
    st->n_vms = n;
    for (size_t i = 0; i < n; i++) {
        cvm_buf_init(&st->extra[i].runtime, CVM_CONFIG_MAX_RUNTIME);
        if ((r = parse_vm(p, node(p, vms->data.sequence.items.start[i]), i)) < 0)
            return r;
    }
    for (size_t i = 0; i < n; i++) {
        struct vm_extra *x = &st->extra[i];
        if ((r = resolve_callback(p, i, x->callback_out, x->callback_out_mark, "callback_out",
                                  &st->vms[i].callback_out)) < 0 ||
            (r = resolve_callback(p, i, x->callback_in, x->callback_in_mark, "callback_in",
                                  &st->vms[i].callback_in)) < 0)
            return r;
    }
    size_t nh = 0;
    if ((r = parse_heaps(p, heaps, &nh)) < 0)
        return r;
    size_t nc = 0;
    if (caps) {
        if (caps->type != YAML_SEQUENCE_NODE)
            return fail_at(p, caps->start_mark, CVM_E_FORMAT, "'capfiles' must be a list");
        nc = (size_t)(caps->data.sequence.items.top - caps->data.sequence.items.start);
        if (nc && !(st->capfiles = calloc(nc, sizeof(*st->capfiles))))
            return oom(p);
        for (size_t i = 0; i < nc; i++) {
            yaml_node_t *c = node(p, caps->data.sequence.items.start[i]);
            if ((r = parse_capfile(p, c, &st->capfiles[i])) < 0)
                return r;
            for (size_t k = 0; k < i; k++)
                if (strcmp(st->capfiles[k].name, st->capfiles[i].name) == 0)
                    return fail_at(p, c->start_mark, CVM_E_CONFLICT,
                                   "two capfiles are named "
                                   "'%s'",
                                   st->capfiles[i].name);
        }
    }
    if (!(p->flags & CVM_CONFIG_NO_FILES)) {
        for (size_t i = 0; i < n; i++) {
            struct vm_extra *x = &st->extra[i];
            CVM_AUTO(cvm_error_free) struct cvm_error *e = NULL;
            if (cvm_buf_read_file(&x->runtime, AT_FDCWD, x->runtime_path, &e) < 0)
                return fail_at(p, x->runtime_mark, e->code, "runtime of cVM '%s': %s",
                               st->vms[i].name, e->message);
            st->vms[i].runtime = x->runtime.data;
            st->vms[i].runtime_len = x->runtime.len;
        }
    }
    *spec = (struct cvm_deploy_spec){.vms = st->vms,
                                     .n_vms = n,
                                     .capfiles = st->capfiles,
                                     .n_capfiles = nc,
                                     .heaps = st->heaps,
                                     .n_heaps = nh,
                                     .stdout_fd = -1};
    return 0;
}

static void storage_free(struct cvm_config_storage *st)
{
    if (!st)
        return;
    for (size_t i = 0; st->extra && i < st->n_vms; i++) {
        cvm_buf_release(&st->extra[i].runtime);
        free(st->extra[i].argv);
        free(st->extra[i].envp);
    }
    for (size_t i = 0; i < st->n_strings; i++)
        free(st->strings[i]);
    free(st->strings);
    free(st->extra);
    free(st->vms);
    free(st->capfiles);
    free(st->heaps);
    cvm_buf_release(&st->ldso);
    cvm_buf_release(&st->rootfs);
    if (st->have_doc)
        yaml_document_delete(&st->doc);
    free(st);
}

const char *cvm_monitor_config_runtime_path(const struct cvm_monitor_config *cfg, size_t i)
{
    return i < cfg->storage->n_vms ? cfg->storage->extra[i].runtime_path : NULL;
}

const char *cvm_monitor_config_ldso_path(const struct cvm_monitor_config *cfg)
{
    return cfg->storage->ldso_path;
}

const char *cvm_monitor_config_rootfs_path(const struct cvm_monitor_config *cfg)
{
    return cfg->storage->rootfs_path;
}

void cvm_monitor_config_set_runtime(struct cvm_monitor_config *cfg, size_t i, const uint8_t *elf,
                                    size_t len)
{
    cfg->storage->vms[i].runtime = elf;
    cfg->storage->vms[i].runtime_len = len;
}

void cvm_monitor_config_free(struct cvm_monitor_config *cfg)
{
    if (!cfg)
        return;
    storage_free(cfg->storage);
    free(cfg);
}

int cvm_monitor_config_parse(const char *text, size_t len, const char *display,
                             const char *base_dir, unsigned flags, struct cvm_monitor_config **ret,
                             struct cvm_error **err)
{
    if (len > CVM_CONFIG_MAX_YAML)
        return cvm_error_set(err, CVM_E_LIMIT, "%s: %zu bytes, over the limit of %u", display, len,
                             CVM_CONFIG_MAX_YAML);
    struct cvm_monitor_config *cfg = calloc(1, sizeof(*cfg));
    if (!cfg || !(cfg->storage = calloc(1, sizeof(*cfg->storage)))) {
        free(cfg);
        return cvm_error_set_errno(err, ENOMEM, "%s: cannot allocate", display);
    }
    struct cvm_config_storage *st = cfg->storage;
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        cvm_monitor_config_free(cfg);
        return cvm_error_set_errno(err, ENOMEM, "%s: cannot start YAML parser", display);
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    int r;
    if (!yaml_parser_load(&parser, &st->doc)) {
        r = cvm_error_set(err, CVM_E_FORMAT, "%s:%zu:%zu: %s", display,
                          parser.problem_mark.line + 1, parser.problem_mark.column + 1,
                          parser.problem ? parser.problem : "malformed YAML");
    } else {
        st->have_doc = true;
        struct parse p = {.doc = &st->doc,
                          .display = display,
                          .base_dir = base_dir,
                          .flags = flags,
                          .st = st,
                          .err = err};
        r = parse_root(&p, yaml_document_get_root_node(&st->doc), &cfg->spec);
    }
    yaml_parser_delete(&parser);
    if (r < 0) {
        cvm_monitor_config_free(cfg);
        return r;
    }
    *ret = cfg;
    return 0;
}

int cvm_monitor_config_load(const char *path, unsigned flags, struct cvm_monitor_config **ret,
                            struct cvm_error **err)
{
    struct cvm_buf text;
    cvm_buf_init(&text, CVM_CONFIG_MAX_YAML);
    int r = cvm_buf_read_file(&text, AT_FDCWD, path, err);
    if (r < 0)
        return r;
    CVM_AUTOFREE char *dir = cvm_path_dirname(path);
    if (!dir) {
        cvm_buf_release(&text);
        return cvm_error_set_errno(err, ENOMEM, "cannot allocate");
    }
    r = cvm_monitor_config_parse((const char *)text.data, text.len, path, dir, flags, ret, err);
    cvm_buf_release(&text);
    return r;
}

/* The rootfs: a folder packed as newc cpio, or a ready archive that must pass the checks. */
static int read_rootfs(struct cvm_buf *out, const char *path, struct cvm_error **err)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return cvm_error_set_errno(err, errno, "rootfs '%s'", path);
    struct cvm_cpio_stats stats;
    if (S_ISDIR(st.st_mode)) {
        CVM_AUTOCLOSE int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
            return cvm_error_set_errno(err, errno, "cannot open rootfs '%s'", path);
        return cvm_cpio_pack_dir(fd, path, out, &stats, err);
    }
    int r = cvm_buf_read_file(out, AT_FDCWD, path, err);
    if (r == 0)
        r = cvm_cpio_check(out->data, out->len, path, &stats, err);
    return r;
}

int cvm_monitor_config_read_files(struct cvm_monitor_config *cfg, struct cvm_error **err)
{
    struct cvm_config_storage *st = cfg->storage;
    if (st->ldso_path) {
        cvm_buf_release(&st->ldso);
        cvm_buf_init(&st->ldso, CVM_CONFIG_MAX_LDSO);
        if (cvm_buf_read_file(&st->ldso, AT_FDCWD, st->ldso_path, err) < 0)
            return cvm_error_prefix(err, "ldso");
        cfg->spec.ldso = st->ldso.data;
        cfg->spec.ldso_len = st->ldso.len;
    }
    if (st->rootfs_path) {
        cvm_buf_release(&st->rootfs);
        cvm_buf_init(&st->rootfs, CVM_CONFIG_MAX_ROOTFS);
        int r = read_rootfs(&st->rootfs, st->rootfs_path, err);
        if (r < 0)
            return r;
        cfg->spec.rootfs = st->rootfs.data;
        cfg->spec.rootfs_len = st->rootfs.len;
    }
    return 0;
}
