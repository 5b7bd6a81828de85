/*
 * Counters of the packet buffers for the REPL and the metrics (DESIGN
 * principle 2): copy.<path> in bytes and copy.<path>_events for each copy
 * path of pkb.h, and pkb.live, the buffers allocated now. Kernel only: the
 * host unit tests read the same numbers through pkb_copy_stats/pkb_live.
 */
#include "zerocopy/pkb.h"
#include "kernel/lib/counter.h"

static u64 copy_bytes(enum pkb_copy_path p)
{
	struct pkb_copy_stats s;
	pkb_copy_stats(&s);
	return s.bytes[p];
}

static u64 copy_events(enum pkb_copy_path p)
{
	struct pkb_copy_stats s;
	pkb_copy_stats(&s);
	return s.events[p];
}

#define COPY_COUNTERS(path, name)                                                    \
	static u64 c_##name(void) { return copy_bytes(path); }                        \
	static u64 c_##name##_events(void) { return copy_events(path); }              \
	KCOUNTER("copy." #name, "bytes", c_##name);                                   \
	KCOUNTER("copy." #name "_events", "events", c_##name##_events)

COPY_COUNTERS(PKB_COPY_TX_WRITE, tx_write);
COPY_COUNTERS(PKB_COPY_RX_READ, rx_read);
COPY_COUNTERS(PKB_COPY_RX_MISS, rx_miss);
COPY_COUNTERS(PKB_COPY_TX_LINEARIZE, tx_linearize);

static u64 c_pkb_live(void) { return pkb_live(); }
KCOUNTER("pkb.live", "buffers", c_pkb_live);

static u64 c_pullup(void) { return pkb_pullup_bytes(); }
KCOUNTER("pkb.pullup_bytes", "bytes", c_pullup);
