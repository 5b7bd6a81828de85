/*
 * Packet buffers, headers last (DESIGN principle 1; the seed essay "Why
 * Headers Must Come Last").
 *
 * A pkb is a packet in two parts:
 *   payload  a chain of page fragments (struct pkb_frag); a buffer that owns
 *            its pages starts its payload at offset 0 of a page, so payload
 *            stays page-aligned through the whole stack. Fragments may also
 *            reference pages the pkb does not own (page cache, pinned user
 *            pages, the initial archive): every fragment holds one page
 *            reference (page_get) and drops it when the pkb is freed.
 *   headers  a trailer zone of PKB_HDR_ROOM bytes kept apart from the
 *            payload. Protocols add headers innermost first (TCP, then IP,
 *            then Ethernet) with pkb_push: each new header goes right in
 *            front of the previous ones, so the zone always holds the
 *            headers contiguous and in wire order, and the NIC gathers
 *            [headers][payload fragments] with no copy. pkb_pull removes the
 *            outermost header on receive. Neither ever touches a payload
 *            byte.
 *
 * Copy accounting (principle 2): every function here that copies payload
 * bytes says so in its comment and adds to the copy counters (pkb_copy_stats:
 * bytes and events per path), which the REPL and the metrics read.
 *
 * Ownership: a pkb has exactly one owner (there is no pkb reference
 * count): pkb_alloc and friends hand it to the caller, pkb_free frees it and
 * drops its page references, pkb_join consumes src. A pkb is used by one
 * thread at a time; clones share pages, not the struct.
 *
 * Bad arguments (lengths past the end, full tables, ranges outside a page)
 * never corrupt a pkb: each function returns an error or NULL, or clamps,
 * as its comment says. A page handed to pkb_add_frag must be one the caller
 * holds a reference to (an order-0 page or the head of a block).
 *
 * The functions are portable C (the host unit tests build them over the
 * page and slab allocators of kernel/mm): pages come from page_alloc(0),
 * struct pkb from the kmem_cache "pkb" that pkb_init creates.
 */
#ifndef ZEROCOPY_PKB_H
#define ZEROCOPY_PKB_H

#include "kernel/mm/mm.h"

/* 64 KiB of payload in 4 KiB pages takes 17 fragments; a 64 KiB datagram
 * reassembled from 1480-byte IP fragments (each in its own page) takes 45 */
#define PKB_MAX_FRAGS 48
#define PKB_HDR_ROOM 192     /* virtio-net header, Ethernet + VLAN, IPv4 + options, TCP + options */

struct pkb_frag {
	struct page *page;   /* one reference held by this fragment */
	u32 off;             /* byte offset in the page (0 for owned pages) */
	u32 len;
};

struct pkb {
	u32 len;                          /* payload bytes: sum of frags[].len */
	u16 nfrags;
	u16 hdr_start;                    /* headers: hdr[hdr_start .. PKB_HDR_ROOM) */
	u32 flags;
	u16 csum_start, csum_offset;      /* checksum offload request (PKB_CSUM_PARTIAL) */
	u16 gso_size, gso_type;           /* segmentation offload request */
	u32 hash;                         /* flow hash (receive steering) */
	u16 queue;                        /* NIC queue it came in on / goes out on */
	u16 nh_len;                       /* receive: length of the network header the
					     stack just pulled (it can push it back) */
	u32 cb[2];                        /* scratch for the protocol that owns it */
	struct pkb *next;                 /* for queues of packets; owner's use */
	struct pkb_frag frags[PKB_MAX_FRAGS];
	u8 hdr[PKB_HDR_ROOM] __aligned(16);
};

#define PKB_CSUM_PARTIAL  (1u << 0)   /* checksum at csum_start+csum_offset left to the NIC */
#define PKB_CSUM_VALID    (1u << 1)   /* receive: the NIC validated the checksum */

/* ---- life cycle ---- */
/* Create the "pkb" object cache; call once after slab_init. (pkb_alloc also
 * calls it on first use, race-free, so an early caller cannot crash.) */
void pkb_init(void);
struct pkb *pkb_alloc(void);                   /* empty: no payload, no headers */
/* Empty pkb with fresh pages for `len` payload bytes (page-aligned, zero
 * offsets, contents undefined). NULL if memory is out or len exceeds
 * PKB_MAX_FRAGS pages. */
struct pkb *pkb_alloc_payload(u32 len);
void pkb_free(struct pkb *b);                  /* NULL is a no-op */

/* ---- headers ---- */
static inline u32 pkb_hdr_len(const struct pkb *b) { return PKB_HDR_ROOM - b->hdr_start; }
static inline u8 *pkb_hdr(struct pkb *b) { return b->hdr + b->hdr_start; }
/* Add `len` header bytes in front of the present headers; returns where to
 * write them, or NULL when the zone is full. */
u8 *pkb_push(struct pkb *b, u32 len);
/* Remove the outermost `len` header bytes; returns the new outermost header
 * (hdr + PKB_HDR_ROOM, not to be read, once none is left), or NULL (nothing
 * removed) when fewer than len bytes are there. */
u8 *pkb_pull(struct pkb *b, u32 len);
/* Remove all headers. */
void pkb_hdr_reset(struct pkb *b);
/* Make at least len header bytes contiguous in the zone, moving the first
 * bytes of the payload to the end of the headers when the NIC split the
 * frame before a header ended (a receive path parsing a header the driver
 * did not predict, e.g. ICMP or ARP). The moved bytes are header bytes, not
 * payload: counted as pkb.pullup_bytes, not as a copy. Returns the
 * outermost header, or NULL (b unchanged) when the packet is shorter than
 * len or the zone has no room. The payload then starts off page offset 0.
 * Headers pulled earlier move with the zone: pkb_push can restore them. */
u8 *pkb_pullup(struct pkb *b, u32 len);
/* Read-only pointer to payload bytes [off, off+len) when they lie in one
 * fragment (looking in place is not a copy), else NULL. */
const u8 *pkb_payload_ptr(const struct pkb *b, u32 off, u32 len);
/* Header bytes moved by pkb_pullup (sum over CPUs). */
u64 pkb_pullup_bytes(void);

/* ---- payload ---- */
/* Append a reference to bytes [off, off+len) of page (takes its own page
 * reference). -ENOSPC when the fragment table is full, -EINVAL on a range
 * outside the page or len 0. A range that continues the last fragment in
 * the same page merges into it (no new fragment, no new reference). */
int pkb_add_frag(struct pkb *b, struct page *page, u32 off, u32 len);
/* Keep the first len payload bytes (dropping references to what goes);
 * nothing happens when len >= b->len. */
void pkb_trim(struct pkb *b, u32 len);
/* Drop the first len payload bytes (all of them when len >= b->len). */
void pkb_advance(struct pkb *b, u32 len);
/* Split: a new pkb gets payload [at, len) (sharing pages, by reference), b
 * keeps [0, at). Headers and the other fields (flags, checksum, offload,
 * hash, queue) stay with b; the new pkb has none. NULL (b unchanged) if
 * memory is out or at > len. */
struct pkb *pkb_split(struct pkb *b, u32 at);
/* Join: move src's payload fragments to the end of dst and free src
 * (src's headers are dropped); the fragments where they meet merge when
 * contiguous in one page. -ENOSPC if they do not fit, -EINVAL if dst == src:
 * then nothing moved and src still belongs to the caller. */
int pkb_join(struct pkb *dst, struct pkb *src);
/* Clone: a new pkb that shares every payload page (references) and has a
 * copy of the headers and of the other fields (next excepted). NULL if
 * memory is out. */
struct pkb *pkb_clone(const struct pkb *b);

/* Copy payload bytes [off, off+len) out to dst: the one copy on a receive
 * path (counted as copy.rx_read). Returns bytes copied: fewer than len when
 * the payload ends first, 0 when off >= b->len. */
u32 pkb_copy_out(const struct pkb *b, u32 off, void *dst, u32 len);
/* Append len bytes from src, into fresh pages (each new fragment at offset
 * 0): the one copy on a write() path (counted as copy.tx_write). Returns 0,
 * or -ENOMEM / -ENOSPC (nothing appended). */
int pkb_copy_in(struct pkb *b, const void *src, u32 len);
/* Is every fragment but the last a whole page from offset 0, and the first
 * at offset 0? (the aligned-payload invariant) */
bool pkb_payload_aligned(const struct pkb *b);

/* ---- scatter/gather for a NIC ---- */
struct pkb_sg {
	u64 addr;    /* physical */
	u32 len;
};
/* Fill sg with [headers][payload fragments] (the headers as one entry when
 * present); returns the entry count, or -ENOSPC if max is too small. Counts
 * no copy. */
int pkb_to_sg(struct pkb *b, struct pkb_sg *sg, int max);

/* ---- copy accounting ---- */
enum pkb_copy_path {
	PKB_COPY_TX_WRITE,   /* user data into buffer pages (write/send) */
	PKB_COPY_RX_READ,    /* buffer pages out to user data (read/recv) */
	PKB_COPY_RX_MISS,    /* header-split prediction missed: payload moved once */
	PKB_COPY_TX_LINEARIZE, /* a packet had to be made contiguous for a device */
	PKB_COPY_NPATHS
};
struct pkb_copy_stats {
	u64 bytes[PKB_COPY_NPATHS];
	u64 events[PKB_COPY_NPATHS];
};
/* Add one event of `bytes` (per-CPU, any context; 0 bytes or an unknown
 * path count nothing). */
void pkb_count_copy(enum pkb_copy_path path, u64 bytes);
void pkb_copy_stats(struct pkb_copy_stats *out);   /* sums over CPUs */
/* "tx_write", "rx_read", "rx_miss", "tx_linearize" (the counters are
 * copy.<name>); "?" for an unknown path. */
const char *pkb_copy_path_name(enum pkb_copy_path path);

/* pkbs currently allocated (for leak checks) */
u64 pkb_live(void);

#endif
