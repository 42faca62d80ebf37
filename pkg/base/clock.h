/* The monotonic clock in nanoseconds: for durations (deploy times, transfer rates). */
#ifndef CVM_BASE_CLOCK_H
#define CVM_BASE_CLOCK_H

#include <stdint.h>

uint64_t cvm_clock_ns(void);

#endif
