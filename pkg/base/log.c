/* The log sink: one function pointer, read without locking once set at start-up. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>

static cvm_log_sink_fn log_sink;
static void *log_data;
static enum cvm_log_level log_max = CVM_LOG_WARN;

void cvm_log_set_sink(cvm_log_sink_fn sink, void *data, enum cvm_log_level max_level)
{
    log_sink = sink;
    log_data = data;
    log_max = max_level;
}

void cvm_log(enum cvm_log_level level, const char *fmt, ...)
{
    if (!log_sink || level > log_max)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    log_sink(level, msg, log_data);
}
