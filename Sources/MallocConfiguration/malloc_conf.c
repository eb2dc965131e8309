// jemalloc's settings for currents-relay, read by jemalloc when it starts (before main).
//
// Why jemalloc: every record is allocated on one thread (the poll thread copies it out of
// librdkafka, a transform task encodes its event) and freed on another (the pipeline's actor,
// an HTTP task). glibc's malloc keeps only 7 freed blocks per size in a thread's cache and sends
// the rest back to the allocating thread's arena under its lock; on the 2-core bench machine that
// was about a sixth of the relay's CPU. jemalloc's thread caches take such frees without a lock.
//
// Why these settings (scripts/bench, 1M events, against jemalloc's defaults):
// - narenas:1: one arena instead of four per core. The thread caches in front of it make its
//   lock rare, and one arena fragments least: peak RSS ~151 MB against ~170-178 MB.
// - dirty_decay_ms:250, muzzy_decay_ms:0: freed pages go back to the kernel within a quarter of a
//   second instead of ten (jemalloc's default), so a drained burst does not stay resident. At 0
//   the purging itself cost a third more CPU per event.
// - background_thread:true: that purging runs on jemalloc's own thread, not in malloc calls on
//   the relay's hot path.
//
// Operators can override any of them with the MALLOC_CONF environment variable, which jemalloc
// reads after this string (see docs/operators-guide.md). Builds without jemalloc (sanitizers,
// the fuzzer) ignore the symbol.
const char *malloc_conf = "narenas:1,dirty_decay_ms:250,muzzy_decay_ms:0,background_thread:true";
