/*
 * The NIC test services (nictest=echo), which take the place of the network
 * stack on every NIC: every frame of the test EtherType (0x88b5, IEEE local
 * experimental), and every IPv4 UDP datagram or TCP segment to port 7, is
 * sent back from the CPU that received it with its addresses (and ports)
 * swapped, touching headers only: the payload pages go back out as they
 * came in. (Swapping source and destination keeps the IPv4 and UDP
 * checksums valid: they are sums.) UDP frames give a test several flows to
 * spread over the receive queues. Requests in test frames ask for a TSO
 * send, a flood, or a malformed descriptor (below).
 */
#include "nic/nic.h"
#include "nic/nictest.h"
#include "zerocopy/frame.h"
#include "kernel/lib/param.h"
#include "kernel/console/console.h"
#include "kernel/lib/counter.h"
#include "kernel/lib/string.h"
#include "kernel/sched/sched.h"

#define ETH_P_TEST 0x88b5
#define ECHO_PORT 7

static bool echo_enabled;
static u64 echo_frames, echo_other, echo_dropped; /* [atomic] */

static int set_nictest(const char *v)
{
	if (strcmp(v, "echo") != 0)
		return -EINVAL;
	echo_enabled = true;
	return 0;
}
KPARAM("nictest", set_nictest, "echo: send back every frame of EtherType 0x88b5 (tests)");

static void swap(u8 *a, u8 *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		u8 t = a[i];
		a[i] = b[i];
		b[i] = t;
	}
}

/* An IPv4 UDP datagram or TCP segment to port 7 whose headers the driver
 * split off whole, without a VLAN tag. (TCP: large-receive segments come
 * back the same way, still coalesced, for the device to segment again.) */
static bool ip_echo_frame(u8 *eth, u32 hlen)
{
	struct frame_hdrs f;
	if (frame_parse_flat(eth, hlen, &f) != hlen || f.l3 != ETH_HLEN ||
	    f.ethertype != ETH_P_IP || !f.l4 || be16(eth + f.l4 + L4_OFF_DPORT) != ECHO_PORT)
		return false;
	swap(eth + f.l3 + IP_OFF_SRC, eth + f.l3 + IP_OFF_DST, 4);
	swap(eth + f.l4 + L4_OFF_SPORT, eth + f.l4 + L4_OFF_DPORT, 2);
	return true;
}

/* ---- TSO-sized sends: a request frame "TSO!" + u16 port asks for one
 * TCP/IPv4 segment of TSO_BYTES payload, built from references to pattern
 * pages (no payload copy), segmented by the device (gso_size 1448) ---- */

#define TSO_BYTES 65000
#define TSO_PAGES ((TSO_BYTES + PAGE_SIZE - 1) / PAGE_SIZE)
static struct page *tso_pages[TSO_PAGES];
static u64 tso_sent;

static u16 csum_fold(u32 s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (u16)s;
}

static u32 csum_add(u32 s, const u8 *p, u32 n)
{
	for (u32 i = 0; i + 1 < n; i += 2)
		s += (u32)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (u32)(p[n - 1] << 8);
	return s;
}

static void tso_send(struct nic *nic, const u8 *req_eth, u16 port)
{
	if (!(nic->features & NIC_F_TSO4) || !(nic->features & NIC_F_TX_CSUM))
		return;
	struct pkb *b = pkb_alloc();
	if (!b)
		return;
	for (unsigned i = 0; i < TSO_PAGES; i++) {
		u32 len = MIN((u32)PAGE_SIZE, (u32)(TSO_BYTES - i * PAGE_SIZE));
		if (pkb_add_frag(b, tso_pages[i], 0, len) != 0) {
			pkb_free(b);
			return;
		}
	}
	u8 *tcp = pkb_push(b, TCP_HLEN), *ip = pkb_push(b, IP_HLEN), *eth = pkb_push(b, ETH_HLEN);
	memcpy(eth + ETH_OFF_DST, req_eth + ETH_OFF_SRC, ETH_ALEN);   /* back to the requester */
	memcpy(eth + ETH_OFF_SRC, req_eth + ETH_OFF_DST, ETH_ALEN);
	put_be16(eth + ETH_OFF_TYPE, ETH_P_IP);
	static const u8 src[4] = { 10, 213, 9, 2 }, dst[4] = { 10, 213, 9, 1 };
	u16 tot = IP_HLEN + TCP_HLEN + TSO_BYTES;
	memset(ip, 0, 20);
	ip[0] = 0x45;
	ip[2] = (u8)(tot >> 8);
	ip[3] = (u8)tot;
	ip[6] = 0x40; /* DF */
	ip[8] = 64;
	ip[IP_OFF_PROTO] = IPPROTO_TCP;
	memcpy(ip + IP_OFF_SRC, src, 4);
	memcpy(ip + IP_OFF_DST, dst, 4);
	u16 ic = (u16)~csum_fold(csum_add(0, ip, 20));
	ip[10] = (u8)(ic >> 8);
	ip[11] = (u8)ic;
	memset(tcp, 0, 20);
	tcp[0] = 0x00;
	tcp[1] = 9;                    /* from port 9 */
	tcp[2] = (u8)(port >> 8);
	tcp[3] = (u8)port;
	tcp[7] = 1;                    /* seq 1 */
	tcp[12] = 5 << 4;
	tcp[13] = 0x18;                /* PSH ACK */
	tcp[14] = 0xff;
	tcp[15] = 0xff;
	/* partial checksum: the pseudo-header sum; the device adds the rest */
	u32 ph = csum_add(csum_add(0, src, 4), dst, 4) + IPPROTO_TCP + TCP_HLEN + TSO_BYTES;
	u16 pc = csum_fold(ph);
	tcp[16] = (u8)(pc >> 8);
	tcp[17] = (u8)pc;
	b->flags |= PKB_CSUM_PARTIAL;
	b->csum_start = ETH_HLEN + IP_HLEN;
	b->csum_offset = 16;
	b->gso_size = 1448;
	b->gso_type = 1;
	if (nic_xmit_wait(nic, b, 1000000000ULL) == 0)
		__atomic_fetch_add(&tso_sent, 1, __ATOMIC_RELAXED);
}

/* ---- floods for the NIC benchmark and the full-ring test ----
 * "FLD!" u32 count u16 size: send count frames of EtherType 0x88b6 back to
 * the requester as fast as the ring takes them: [Ethernet][u32 sequence]
 * in the header zone, the rest referenced from one shared page. A full ring
 * makes the sender yield and retry, so no frame is lost.
 * Frames of EtherType 0x88b7 are counted and dropped (receive benchmark). */

#define ETH_P_FLOOD 0x88b6
#define ETH_P_SINK 0x88b7
#define FLOOD_MAX 1000000   /* a request cannot keep a poll thread busy for long */
static struct page *flood_page;
static u64 flood_frames, flood_ns, flood_ticks, flood_retries;
static u64 sink_frames, sink_first_ns, sink_last_ns;

static void flood(struct nic *nic, const u8 *req_eth, u32 count, u32 size)
{
	size = MAX(size, 60u);
	size = MIN(size, 14u + 4 + PAGE_SIZE);
	u64 t0 = arch_clock_ns(), k0 = arch_cycles(), retries = 0, sent = 0;
	for (u32 seq = 0; seq < count; seq++) {
		struct pkb *b = pkb_alloc();
		if (!b)
			break;
		if (pkb_add_frag(b, flood_page, 0, size - 18) != 0) {
			pkb_free(b);
			break;
		}
		u8 *h = pkb_push(b, 18);
		memcpy(h, req_eth + 6, 6);
		memcpy(h + 6, nic->mac, 6);
		h[12] = ETH_P_FLOOD >> 8;
		h[13] = ETH_P_FLOOD & 0xff;
		h[14] = (u8)(seq >> 24);
		h[15] = (u8)(seq >> 16);
		h[16] = (u8)(seq >> 8);
		h[17] = (u8)seq;
		int err = nic_xmit(nic, b);
		if (err == -EAGAIN) {
			retries++; /* the ring is full: sleep on the completion interrupt */
			err = nic_xmit_wait(nic, b, 1000000000ULL);
		}
		if (err != 0)
			break;
		sent++;
	}
	u64 ns = arch_clock_ns() - t0, k = arch_cycles() - k0;
	__atomic_fetch_add(&flood_frames, sent, __ATOMIC_RELAXED);
	__atomic_fetch_add(&flood_ns, ns, __ATOMIC_RELAXED);
	__atomic_fetch_add(&flood_ticks, k, __ATOMIC_RELAXED);
	__atomic_fetch_add(&flood_retries, retries, __ATOMIC_RELAXED);
	printk(LOG_INFO, "nictest: flood of %llu frames of %u bytes on cpu %u: %llu us, %llu TSC "
	       "ticks a frame, %llu retries on a full ring", (unsigned long long)sent, size,
	       cpu_id(), (unsigned long long)(ns / 1000),
	       (unsigned long long)(sent ? k / sent : 0), (unsigned long long)retries);
}

static u64 c_sink_ns(void) { return sink_last_ns - sink_first_ns; }
KCOUNTER_VAR("nictest.flood_frames", "frames", flood_frames);
KCOUNTER_VAR("nictest.flood_ns", "ns", flood_ns);
KCOUNTER_VAR("nictest.flood_tsc_ticks", "ticks", flood_ticks);
KCOUNTER_VAR("nictest.flood_ring_full_retries", "retries", flood_retries);
KCOUNTER_VAR("nictest.sink_frames", "frames", sink_frames);
KCOUNTER("nictest.sink_span_ns", "ns", c_sink_ns);

KCOUNTER_VAR("nictest.tso_sent", "segments", tso_sent);

static void echo_rx(struct nic *nic, struct pkb *b)
{
	/* requests are read in place from the first payload page: looking is
	 * not a copy (copy.rx_read counts bytes moved to a reader) */
	const u8 *req = b->nfrags && b->frags[0].len >= 10 ?
			(const u8 *)page_address(b->frags[0].page) + b->frags[0].off : NULL;
	if (pkb_hdr_len(b) == ETH_HLEN && req) {
		u8 *e = pkb_hdr(b);
		if (be16(e + ETH_OFF_TYPE) == ETH_P_TEST && memcmp(req, "TSO!", 4) == 0) {
			tso_send(nic, e, (u16)(req[4] << 8 | req[5]));
			pkb_free(b);
			return;
		}
		if (be16(e + ETH_OFF_TYPE) == ETH_P_TEST && memcmp(req, "FLD!", 4) == 0) {
			u32 count = (u32)req[4] << 24 | (u32)req[5] << 16 | (u32)req[6] << 8 | req[7];
			u32 size = (u32)req[8] << 8 | req[9];
			u8 eth[ETH_HLEN];
			memcpy(eth, e, ETH_HLEN);
			pkb_free(b);
			flood(nic, eth, MIN(count, FLOOD_MAX), size);
			return;
		}
		if (be16(e + ETH_OFF_TYPE) == ETH_P_TEST && memcmp(req, "RST!", 4) == 0) {
			pkb_free(b);
			int err = nic->ops->inject ? nic->ops->inject(nic, "bad-descriptor") : -ENOTSUP;
			printk(LOG_INFO, "nictest: injected a bad descriptor (%d)", err);
			return;
		}
		if (be16(e + ETH_OFF_TYPE) == ETH_P_SINK) {
			u64 now = arch_clock_ns();
			u64 zero = 0;
			__atomic_compare_exchange_n(&sink_first_ns, &zero, now, false,
						    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
			__atomic_store_n(&sink_last_ns, now, __ATOMIC_RELAXED);
			__atomic_fetch_add(&sink_frames, 1, __ATOMIC_RELAXED);
			pkb_free(b);
			return;
		}
	}
	u8 *eth = pkb_hdr(b);
	u32 hlen = pkb_hdr_len(b);
	bool test = hlen >= ETH_HLEN && be16(eth + ETH_OFF_TYPE) == ETH_P_TEST;
	if (!test && !ip_echo_frame(eth, hlen)) {
		__atomic_fetch_add(&echo_other, 1, __ATOMIC_RELAXED);
		pkb_free(b);
		return;
	}
	swap(eth + ETH_OFF_DST, eth + ETH_OFF_SRC, ETH_ALEN);
	if (nic_xmit_wait(nic, b, 1000000000ULL) == 0)
		__atomic_fetch_add(&echo_frames, 1, __ATOMIC_RELAXED);
	else
		__atomic_fetch_add(&echo_dropped, 1, __ATOMIC_RELAXED);
}

KCOUNTER_VAR("nictest.echoed", "frames", echo_frames);
KCOUNTER_VAR("nictest.not_test", "frames", echo_other);
KCOUNTER_VAR("nictest.dropped", "frames", echo_dropped);

void nictest_start(void)
{
	if (!echo_enabled)
		return;
	for (unsigned i = 0; i < TSO_PAGES; i++) {
		tso_pages[i] = page_alloc(0);
		if (!tso_pages[i]) {
			pr_err("nictest: no memory for the TSO pattern");
			return;
		}
		u8 *p = page_address(tso_pages[i]);
		for (u32 k = 0; k < PAGE_SIZE; k++)
			p[k] = (u8)((i * PAGE_SIZE + k) * 7 + 3);
	}
	flood_page = page_alloc_zeroed(0);
	if (!flood_page) {
		pr_err("nictest: no memory for the flood page");
		return;
	}
	for (int i = 0; i < nic_count(); i++)
		nic_set_rx_hook(nic_get(i), echo_rx);
}
