// jemalloc's compiled-in settings for currents-relay live in malloc_conf.c; nothing to import.
