#ifndef CURRENTS_RELAY_CRDKAFKA_SHIM_H
#define CURRENTS_RELAY_CRDKAFKA_SHIM_H
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#endif
