// CPU time for `currents-relay bench-stages`, as plain numbers.
//
// clock_gettime fills a struct through a pointer; called from Swift that is an unsafe pointer
// conversion, and unsafe pointers live only in the Kafka target (checked by the compiler: every
// other Swift target builds with strict memory safety). The two calls are made here instead.
#ifndef CURRENTS_RELAY_CPU_CLOCK_H
#define CURRENTS_RELAY_CPU_CLOCK_H

/// CPU microseconds the calling thread has used.
double currents_relay_thread_cpu_microseconds(void);

/// CPU microseconds the whole process has used (every thread).
double currents_relay_process_cpu_microseconds(void);

#endif
