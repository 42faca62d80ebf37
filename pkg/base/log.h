/* Logging without printing: pkg/ code reports through a sink that cmd/ installs. */
#ifndef CVM_BASE_LOG_H
#define CVM_BASE_LOG_H

enum cvm_log_level { CVM_LOG_ERROR, CVM_LOG_WARN, CVM_LOG_INFO, CVM_LOG_DEBUG };

typedef void (*cvm_log_sink_fn)(enum cvm_log_level level, const char *message, void *data);

/* Installs the process-wide sink (NULL: discard) and the most verbose level passed on. */
void cvm_log_set_sink(cvm_log_sink_fn sink, void *data, enum cvm_log_level max_level);
void cvm_log(enum cvm_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
