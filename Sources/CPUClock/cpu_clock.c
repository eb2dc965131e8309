#include "CPUClock.h"

#include <time.h>

static double microseconds(clockid_t clock) {
    struct timespec time;
    if (clock_gettime(clock, &time) != 0) return 0;
    return (double)time.tv_sec * 1e6 + (double)time.tv_nsec / 1e3;
}

double currents_relay_thread_cpu_microseconds(void) { return microseconds(CLOCK_THREAD_CPUTIME_ID); }

double currents_relay_process_cpu_microseconds(void) { return microseconds(CLOCK_PROCESS_CPUTIME_ID); }
