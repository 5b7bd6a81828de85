/*
 * libFuzzer target for the iperf3 parameter parser (apps/kernel/iperf_json.c):
 * every input is both a parameter message and a results object. A parse
 * that succeeds must describe a test the server runs (TCP, 1 to
 * IPERF_MAX_STREAMS streams, block size and duration in iperf3's ranges).
 */
#include "apps/kernel/services.h"

int LLVMFuzzerTestOneInput(const u8 *data, size_t size);
int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct iperf_params p;
	const char *why = NULL;
	int r = iperf_params_parse((const char *)data, (u32)size, &p, &why);
	if (!why || (r == 0 && (p.parallel < 1 || p.parallel > IPERF_MAX_STREAMS || p.udp ||
				p.sctp || p.bidir || p.time_s > 86400 || p.blksize < 1 ||
				p.blksize > (1u << 20))))
		__builtin_trap();
	(void)iperf_json_check_object((const char *)data, (u32)size);
	return 0;
}
