/*
 * The stack in the REPL: `ip` (interfaces, addresses, the DHCP lease),
 * `arp`, `route`, `sockets`, `netstat` (every drop reason, ICMP and
 * fragment counts), and the counters net.drop.<reason>.
 */
#include "netstack/net_priv.h"
#include "netstack/tcp_priv.h"
#include "kernel/lib/counter.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"
#include "kernel/repl/repl.h"

static void fmt_ip(char *buf, size_t n, ip4_t a)
{
	ksnprintf(buf, n, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

static void fmt_u64(char *buf, size_t n, u64 v) { ksnprintf(buf, n, "%llu", (unsigned long long)v); }

REPL_CMD("ip", cmd_ip, "", "interfaces: address, gateway, DHCP state and lease");
static int cmd_ip(struct repl_out *o, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	repl_table_begin(o, "interfaces", "name::6 mac::17 link::4 mtu:n:5 addr::15 prefix:n:6 "
			 "gateway::15 dhcp::10 server::15 lease_s:n:8 left_s:n:8 t1_left_s:n:9 "
			 "t2_left_s:n:9");
	for (int i = 0; i < net_if_count(); i++) {
		struct netif_info f;
		if (net_if_info(i, &f))
			continue;
		char mac[24], mtu[8], addr[16], pfx[4], gw[16], srv[16], l[24], lf[24], t1[24], t2[24];
		ksnprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", f.mac[0], f.mac[1],
			  f.mac[2], f.mac[3], f.mac[4], f.mac[5]);
		ksnprintf(mtu, sizeof(mtu), "%u", f.mtu);
		fmt_ip(addr, sizeof(addr), f.addr);
		ksnprintf(pfx, sizeof(pfx), "%u", net_prefix_len(f.mask));
		fmt_ip(gw, sizeof(gw), f.gw);
		fmt_ip(srv, sizeof(srv), f.dhcp_server);
		fmt_u64(l, sizeof(l), f.lease_s);
		fmt_u64(lf, sizeof(lf), f.lease_left_s);
		fmt_u64(t1, sizeof(t1), f.t1_left_s);
		fmt_u64(t2, sizeof(t2), f.t2_left_s);
		const char *cells[13] = { f.name, mac, f.up ? "up" : "down", mtu, addr, pfx, gw,
					  f.dhcp_state, srv, l, lf, t1, t2 };
		repl_row(o, cells);
	}
	repl_table_end(o);
	return 0;
}

REPL_CMD("arp", cmd_arp, "", "the ARP table");
static int cmd_arp(struct repl_out *o, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	static struct arp_info a[256];  /* the table's size; the REPL thread is the only user */
	int n = arp_list(a, 256);
	repl_table_begin(o, "arp", "ip::15 mac::17 state::10 age_ms:n:8 queued:n:6 if:n:3");
	for (int i = 0; i < n; i++) {
		char ip[16], mac[24], age[24], q[12], ifx[8];
		fmt_ip(ip, sizeof(ip), a[i].ip);
		ksnprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", a[i].mac[0],
			  a[i].mac[1], a[i].mac[2], a[i].mac[3], a[i].mac[4], a[i].mac[5]);
		fmt_u64(age, sizeof(age), a[i].age_ms);
		ksnprintf(q, sizeof(q), "%u", a[i].queued);
		ksnprintf(ifx, sizeof(ifx), "%d", a[i].ifindex);
		const char *cells[6] = { ip, mac, a[i].state, age, q, ifx };
		repl_row(o, cells);
	}
	repl_table_end(o);
	return 0;
}

REPL_CMD("route", cmd_route, "", "the IPv4 route table");
static int cmd_route(struct repl_out *o, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	struct route_info r[16];
	int n = route_list(r, 16);
	repl_table_begin(o, "routes", "dest::15 prefix:n:6 gateway::15 if:n:3");
	for (int i = 0; i < n; i++) {
		char d[16], p[4], g[16], ifx[8];
		fmt_ip(d, sizeof(d), r[i].dst);
		ksnprintf(p, sizeof(p), "%u", net_prefix_len(r[i].mask));
		fmt_ip(g, sizeof(g), r[i].gw);
		ksnprintf(ifx, sizeof(ifx), "%d", r[i].ifindex);
		const char *cells[4] = { d, p, g, ifx };
		repl_row(o, cells);
	}
	repl_table_end(o);
	return 0;
}

static void sock_row(struct socket *s, void *arg)
{
	struct repl_out *o = arg;
	char l[24], p[24], v[7][24];
	spin_lock(&s->lock);
	struct sockaddr_in4 la = s->local, pa = s->peer;
	bool conn = s->connected;
	struct sock_stats st = s->st;
	u32 rq = s->rq_bytes;
	spin_unlock(&s->lock);
	char ip[16];
	fmt_ip(ip, sizeof(ip), la.addr);
	ksnprintf(l, sizeof(l), "%s:%u", ip, la.port);
	fmt_ip(ip, sizeof(ip), pa.addr);
	if (conn)
		ksnprintf(p, sizeof(p), "%s:%u", ip, pa.port);
	else
		ksnprintf(p, sizeof(p), "*");
	u64 vals[7] = { rq, st.rx_packets, st.rx_bytes, st.rx_drops, st.tx_packets, st.tx_bytes,
			st.tx_errors };
	for (int i = 0; i < 7; i++)
		fmt_u64(v[i], 24, vals[i]);
	const char *cells[10] = { s->ops->name, l, p, v[0], v[1], v[2], v[3], v[4], v[5], v[6] };
	repl_row(o, cells);
}

REPL_CMD("sockets", cmd_sockets, "", "every socket with its counters");
static int cmd_sockets(struct repl_out *o, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	repl_table_begin(o, "sockets", "proto::5 local::21 peer::21 rq_bytes:n:8 rx_packets:n:10 "
			 "rx_bytes:n:10 rx_drops:n:8 tx_packets:n:10 tx_bytes:n:10 tx_errors:n:9");
	sock_for_each(sock_row, o);
	repl_table_end(o);
	return 0;
}

REPL_CMD("netstat", cmd_netstat, "", "drops by reason, ICMP and fragment counters");
static int cmd_netstat(struct repl_out *o, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	repl_table_begin(o, "drops", "reason::15 count:n:8 meaning::50");
	for (int r = 0; r < NET_DROP_COUNT; r++) {
		char c[24];
		fmt_u64(c, sizeof(c), net_drop_count((enum net_drop)r));
		const char *cells[3] = { net_drop_name((enum net_drop)r), c,
					 net_drop_text((enum net_drop)r) };
		repl_row(o, cells);
	}
	repl_table_end(o);
	struct icmp_stats is;
	icmp_stats(&is);
	struct frag_stats fs;
	ip_frag_stats(&fs);
	repl_obj_begin(o, "ip");
	repl_kv_u64(o, "icmp_echo_requests", is.echo_requests);
	repl_kv_u64(o, "icmp_echo_replies_sent", is.echo_replies_sent);
	repl_kv_u64(o, "icmp_errors_sent", is.errors_sent);
	repl_kv_u64(o, "icmp_errors_received", is.errors_received);
	repl_kv_u64(o, "reassembly_datagrams", fs.datagrams);
	repl_kv_u64(o, "reassembly_bytes", fs.bytes);
	repl_kv_u64(o, "reassembled", fs.reassembled);
	repl_kv_u64(o, "fragments_sent", fs.fragments_sent);
	repl_obj_end(o);
	return 0;
}

#define DROP_COUNTER(name, text)                                                   \
	static u64 c_drop_##name(void) { return net_drop_count(NET_DROP_##name); }  \
	KCOUNTER("net.drop." #name, "packets", c_drop_##name);
NET_DROPS(DROP_COUNTER)

static u64 c_reasm(void)
{
	struct frag_stats fs;
	ip_frag_stats(&fs);
	return fs.reassembled;
}
KCOUNTER("net.ip.reassembled", "datagrams", c_reasm);

/* ---- TCP connections ---- */

static void tcp_row(struct tcb *t, void *arg)
{
	struct repl_out *o = arg;
	char l[24], r[24], ip[16], v[23][24], sack[72];
	spin_lock(&t->sk.lock);
	/* the sender's scoreboard, offsets from the ISN (up to 4 ranges) */
	u32 sl = 0;
	sack[0] = 0;
	for (unsigned i = 0; i < t->n_sacked && i < 4; i++)
		sl += (u32)ksnprintf(sack + sl, sizeof(sack) - sl, "%s%u-%u", i ? "," : "",
				     t->sacked[i].start - t->iss, t->sacked[i].end - t->iss);
	if (t->n_sacked > 4)
		ksnprintf(sack + sl, sizeof(sack) - sl, ",+%u", t->n_sacked - 4u);
	if (!t->n_sacked)
		ksnprintf(sack, sizeof(sack), "-");
	fmt_ip(ip, sizeof(ip), t->laddr);
	ksnprintf(l, sizeof(l), "%s:%u", ip, t->lport);
	fmt_ip(ip, sizeof(ip), t->raddr);
	ksnprintf(r, sizeof(r), "%s:%u", ip, t->rport);
	u64 vals[23] = { t->cwnd, t->ssthresh == 0xffffffffu ? 0 : t->ssthresh,
			 t->srtt_ns / 1000, t->rttvar_ns / 1000, t->rto_ns / 1000000, t->mss,
			 t->snd_wnd, tcp_rcv_window(t), t->bytes_acked, t->bytes_received,
			 t->retransmits, t->snd_q_bytes, t->rcv_q_bytes, t->ooo_bytes,
			 t->snd_una - t->iss, t->snd_nxt - t->iss, t->snd_max - t->iss,
			 t->rcv_nxt - t->irs, t->rcv_adv - t->irs, t->ooo_q ? t->ooo_q->hash - t->irs : 0,
			 t->sack_recoveries + t->nr_recoveries, t->cpu, t->sk.rcvbuf };
	const char *sk = t->sack_ok ? "sack" : "-";
	const char *state = tcp_state_name(t->state), *cc = t->cc == TCP_CC_CUBIC ? "cubic" : "newreno";
	spin_unlock(&t->sk.lock);
	for (int i = 0; i < 23; i++)
		fmt_u64(v[i], 24, vals[i]);
	const char *cells[29] = { l, r, state, v[21], cc, v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7],
				  v[8], v[9], v[10], v[11], v[12], v[13], v[14], v[15], v[16], v[17],
				  v[18], v[19], sk, v[20], sack, v[22] };
	repl_row(o, cells);
}

REPL_CMD("tcp", cmd_tcp, "", "TCP connections: state, owning CPU, windows, RTT, bytes, "
	 "retransmits, recoveries, the SACK scoreboard; totals and the timer wheels");
static int cmd_tcp(struct repl_out *o, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	repl_table_begin(o, "tcp", "local::21 remote::21 state::11 cpu:n:3 cc::7 cwnd:n:8 ssthresh:n:8 "
			 "srtt_us:n:8 rttvar_us:n:9 rto_ms:n:6 mss:n:5 snd_wnd:n:8 rcv_wnd:n:8 "
			 "bytes_acked:n:11 bytes_received:n:14 retransmits:n:11 snd_q:n:7 rcv_q:n:7 "
			 "ooo:n:6 snd_una:n:10 snd_nxt:n:10 snd_max:n:10 rcv_nxt:n:10 rcv_adv:n:10 "
			 "ooo_seq:n:10 opts::5 recoveries:n:10 sacked::24 rcvbuf:n:8");
	tcp_for_each(tcp_row, o, NULL);
	repl_table_end(o);
	repl_obj_begin(o, "tcp_totals");
	repl_kv_u64(o, "active_opens", tcp_stats.active_opens);
	repl_kv_u64(o, "passive_opens", tcp_stats.passive_opens);
	repl_kv_u64(o, "established", tcp_stats.established);
	repl_kv_u64(o, "resets_sent", tcp_stats.resets_sent);
	repl_kv_u64(o, "resets_received", tcp_stats.resets_received);
	repl_kv_u64(o, "retransmits", tcp_stats.retransmits);
	repl_kv_u64(o, "timeouts", tcp_stats.timeouts);
	repl_kv_u64(o, "segs_in", tcp_stats.segs_in);
	repl_kv_u64(o, "segs_out", tcp_stats.segs_out);
	repl_kv_u64(o, "challenge_acks", tcp_stats.challenge_acks);
	repl_kv_u64(o, "time_wait_reused", tcp_stats.time_wait_reused);
	repl_kv_u64(o, "syn_dropped_backlog", tcp_stats.syn_dropped_backlog);
	repl_kv_u64(o, "syncookies_sent", tcp_stats.syncookies_sent);
	repl_kv_u64(o, "syncookies_ok", tcp_stats.syncookies_ok);
	repl_kv_u64(o, "syncookies_failed", tcp_stats.syncookies_failed);
	repl_kv_u64(o, "sack_recoveries", tcp_stats.sack_recoveries);
	repl_kv_u64(o, "newreno_recoveries", tcp_stats.nr_recoveries);
	repl_kv_u64(o, "sack_rexmits", tcp_stats.sack_rexmits);
	repl_kv_u64(o, "sack_blocks_bad", tcp_stats.sack_blocks_bad);
	u64 filed = 0, fired = 0, visits = 0;
	for (unsigned c = 0; c < ncpus; c++) {
		u64 a, b, d;
		tcp_wheel_stats(c, &a, &b, &d);
		filed += a;
		fired += b;
		visits += d;
	}
	repl_kv_u64(o, "wheel_filed", filed);
	repl_kv_u64(o, "wheel_fired", fired);
	repl_kv_u64(o, "wheel_visits", visits);
	repl_obj_end(o);
	return 0;
}

KCOUNTER_VAR("net.tcp.retransmits", "segments", tcp_stats.retransmits);
KCOUNTER_VAR("net.tcp.established", "connections", tcp_stats.established);
/* the rest of the totals, for the metrics service (metrics.c exports net.tcp.*) */
#define TCP_COUNTER(field, unit) KCOUNTER_VAR("net.tcp." #field, unit, tcp_stats.field);
TCP_COUNTER(active_opens, "connections")
TCP_COUNTER(passive_opens, "connections")
TCP_COUNTER(resets_sent, "segments")
TCP_COUNTER(resets_received, "segments")
TCP_COUNTER(timeouts, "events")
TCP_COUNTER(segs_in, "segments")
TCP_COUNTER(segs_out, "segments")
TCP_COUNTER(challenge_acks, "segments")
TCP_COUNTER(syn_dropped_backlog, "segments")
TCP_COUNTER(syncookies_sent, "segments")
