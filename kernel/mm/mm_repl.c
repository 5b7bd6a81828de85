/* REPL commands and counters of the memory subsystem. */
#include "kernel/mm/mm.h"
#include "kernel/lib/counter.h"
#include "kernel/lib/format.h"
#include "kernel/repl/repl.h"

REPL_CMD("mem", cmd_mem, "", "pages: free/used, per-CPU caches, free blocks by order");
static int cmd_mem(struct repl_out *o, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	static struct page_stats s; /* large; the REPL runs one command at a time */
	page_stats(&s);
	repl_obj_begin(o, "pages");
	repl_kv_u64(o, "total", s.total);
	repl_kv_u64(o, "free", s.free);
	repl_kv_u64(o, "used", s.total - s.free);
	repl_kv_u64(o, "free_in_cpu_caches", s.free_in_pcp);
	repl_kv_u64(o, "allocs", s.allocs);
	repl_kv_u64(o, "frees", s.frees);
	repl_kv_u64(o, "cache_hits", s.pcp_hits);
	repl_kv_u64(o, "cache_refills", s.pcp_refills);
	repl_kv_u64(o, "cache_drains", s.pcp_drains);
	repl_kv_u64(o, "kernel_stacks", kstack_count());
	repl_obj_end(o);
	repl_table_begin(o, "cpu_caches", "cpu:n:3 pages:n:6");
	for (unsigned c = 0; c < ncpus; c++) {
		char a[8], b[24];
		ksnprintf(a, sizeof(a), "%u", c);
		ksnprintf(b, sizeof(b), "%llu", (unsigned long long)s.pcp_count[c]);
		const char *cells[2] = { a, b };
		repl_row(o, cells);
	}
	repl_table_end(o);
	repl_table_begin(o, "free_blocks", "order:n:5 blocks:n:8 pages:n:8");
	for (int ord = 0; ord <= PAGE_MAX_ORDER; ord++) {
		char a[8], b[24], c[24];
		ksnprintf(a, sizeof(a), "%d", ord);
		ksnprintf(b, sizeof(b), "%llu", (unsigned long long)s.free_blocks[ord]);
		ksnprintf(c, sizeof(c), "%llu", (unsigned long long)(s.free_blocks[ord] << ord));
		const char *cells[3] = { a, b, c };
		repl_row(o, cells);
	}
	repl_table_end(o);
	return 0;
}

REPL_CMD("slab", cmd_slab, "",
	 "object caches: size, slabs, objects in use, per-CPU caches (cached, limit, hits, batches)");
static int cmd_slab(struct repl_out *o, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	static struct kmem_cache_stats st[64];
	int n = kmem_cache_stats(st, 64);
	repl_table_begin(o, "slab", "cache::14 size:n:5 slot:n:5 per_slab:n:8 slabs:n:6 "
			 "inuse:n:8 allocs:n:10 frees:n:10 cached:n:6 cpu_limit:n:9 "
			 "cpu_allocs:n:10 cpu_frees:n:10 refills:n:8 drains:n:8");
	for (int i = 0; i < n; i++) {
		enum { NUMS = 13 };
		char v[NUMS][24];
		u64 nums[NUMS] = { st[i].obj_size, st[i].slot_size, st[i].objs_per_slab,
				   st[i].slabs, st[i].inuse, st[i].allocs, st[i].frees,
				   st[i].cached, st[i].cpu_limit, st[i].cpu_allocs,
				   st[i].cpu_frees, st[i].refills, st[i].drains };
		const char *cells[NUMS + 1] = { st[i].name };
		for (int k = 0; k < NUMS; k++) {
			ksnprintf(v[k], sizeof(v[k]), "%llu", (unsigned long long)nums[k]);
			cells[k + 1] = v[k];
		}
		repl_row(o, cells);
	}
	repl_table_end(o);
	struct slab_cpu_cache_stats cs;
	slab_cpu_cache_stats(&cs);
	repl_obj_begin(o, "cpu_caches");
	repl_kv_u64(o, "stacks", cs.stacks);
	repl_kv_u64(o, "pool", cs.pool);
	repl_kv_u64(o, "pool_exhausted", cs.pool_exhausted);
	repl_kv_u64(o, "reclaims", cs.reclaims);
	repl_kv_u64(o, "reclaimed", cs.reclaimed);
	repl_obj_end(o);
	return 0;
}

static u64 c_slab_reclaims(void)
{
	struct slab_cpu_cache_stats cs;
	slab_cpu_cache_stats(&cs);
	return cs.reclaims;
}
KCOUNTER("slab.reclaims", "calls", c_slab_reclaims);

static u64 c_page_allocs(void)
{
	static struct page_stats s;
	page_stats(&s);
	return s.allocs;
}
static u64 c_page_free(void) { return page_free_count(); }
KCOUNTER("page.allocs", "blocks", c_page_allocs);
KCOUNTER("page.free", "pages", c_page_free);
