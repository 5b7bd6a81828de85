/*
 * The iperf3 parameter parser (services.h): a small JSON reader for what an
 * iperf3 client sends, which is outside input and so treated as hostile.
 *
 * Bounds: every read checks the cursor against the end of the buffer; the
 * nesting depth is limited (IPERF_JSON_MAX_DEPTH, also the recursion
 * limit); strings are copied only into fixed buffers and cut there;
 * numbers are limited to IPERF_JSON_MAX_DIGITS digits and are kept only
 * when they are exact non-negative integers below 2^64. Nothing allocates.
 *
 * The grammar is RFC 8259's. Keys are compared after unescaping, so
 * "\u0074ime" is "time"; \u0000 and non-ASCII escapes become '?', so no key
 * can hide behind an embedded NUL.
 */
#include "apps/kernel/services.h"
#include "netstack/net.h"
#include "kernel/lib/string.h"

struct jcur {
	const char *p, *end;
};

static void jws(struct jcur *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
		c->p++;
}

static bool jeat(struct jcur *c, char ch)
{
	jws(c);
	if (c->p < c->end && *c->p == ch) {
		c->p++;
		return true;
	}
	return false;
}

static bool jdigit(const struct jcur *c) { return c->p < c->end && *c->p >= '0' && *c->p <= '9'; }

static int jhex(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* The string at the cursor. Its first cap-1 characters go to out (NUL-
 * terminated) when out is not NULL; *cut says whether it was longer. */
static int jstring(struct jcur *c, char *out, u32 cap, bool *cut)
{
	u32 n = 0;
	bool longer = false;
	if (c->p >= c->end || *c->p != '"')
		return -EINVAL;
	c->p++;
	while (c->p < c->end) {
		u8 ch = (u8)*c->p++;
		if (ch == '"') {
			if (out && cap)
				out[n] = 0;
			if (cut)
				*cut = longer;
			return 0;
		}
		if (ch < 0x20)
			return -EINVAL;
		if (ch == '\\') {
			if (c->p >= c->end)
				return -EINVAL;
			char e = *c->p++;
			switch (e) {
			case '"': case '\\': case '/': ch = (u8)e; break;
			case 'b': ch = '\b'; break;
			case 'f': ch = '\f'; break;
			case 'n': ch = '\n'; break;
			case 'r': ch = '\r'; break;
			case 't': ch = '\t'; break;
			case 'u': {
				u32 v = 0;
				for (int i = 0; i < 4; i++) {
					int h = c->p < c->end ? jhex(*c->p) : -1;
					if (h < 0)
						return -EINVAL;
					v = v << 4 | (u32)h;
					c->p++;
				}
				ch = v && v < 0x80 ? (u8)v : '?';
				break;
			}
			default:
				return -EINVAL;
			}
		}
		if (out && n + 1 < cap)
			out[n++] = (char)ch;
		else
			longer = true;
	}
	return -EINVAL; /* no closing quote */
}

struct jnum {
	u64 v;
	bool exact;   /* a non-negative integer below 2^64 (then v is it) */
};

/* A number at the cursor (RFC 8259 §6), with its value when exact. */
static int jnumber(struct jcur *c, struct jnum *out)
{
	u64 v = 0;
	bool neg = false, big = false;
	u32 digits = 0;
	long scale = 0;
	if (c->p < c->end && *c->p == '-') {
		neg = true;
		c->p++;
	}
	if (!jdigit(c))
		return -EINVAL;
	bool lead_zero = *c->p == '0';
	do {
		u32 d = (u32)(*c->p++ - '0');
		if (++digits > IPERF_JSON_MAX_DIGITS)
			return -EINVAL;
		if (v > (UINT64_MAX - d) / 10)
			big = true;
		else
			v = v * 10 + d;
	} while (!lead_zero && jdigit(c));
	if (c->p < c->end && *c->p == '.') {
		c->p++;
		if (!jdigit(c))
			return -EINVAL;
		while (jdigit(c)) {
			u32 d = (u32)(*c->p++ - '0');
			if (++digits > IPERF_JSON_MAX_DIGITS)
				return -EINVAL;
			if (v > (UINT64_MAX - d) / 10) {
				big = true;
			} else {
				v = v * 10 + d;
				scale--;
			}
		}
	}
	if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
		c->p++;
		bool eneg = false;
		if (c->p < c->end && (*c->p == '+' || *c->p == '-'))
			eneg = *c->p++ == '-';
		if (!jdigit(c))
			return -EINVAL;
		long e = 0;
		u32 edigits = 0;
		while (jdigit(c)) {
			if (++edigits > 6)
				return -EINVAL;
			e = e * 10 + (*c->p++ - '0');
		}
		scale += eneg ? -e : e;
	}
	/* v * 10^scale: exact when the digits dropped by a negative scale are
	 * zeros and a positive scale does not overflow */
	while (!big && v && scale < 0 && v % 10 == 0) {
		v /= 10;
		scale++;
	}
	if (!v)
		scale = 0;
	while (!big && scale > 0) {
		if (v > UINT64_MAX / 10)
			big = true;
		else
			v *= 10;
		scale--;
	}
	out->v = v;
	out->exact = !big && scale == 0 && (!neg || v == 0);
	return 0;
}

static int jliteral(struct jcur *c, const char *word)
{
	size_t n = strlen(word);
	if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0)
		return -EINVAL;
	c->p += n;
	return 0;
}

/* Skip one value of any kind, checking its grammar. */
static int jskip(struct jcur *c, int depth)
{
	jws(c);
	if (c->p >= c->end)
		return -EINVAL;
	struct jnum num;
	char open = *c->p;
	switch (open) {
	case '{':
	case '[':
		if (depth >= IPERF_JSON_MAX_DEPTH)
			return -EINVAL;
		c->p++;
		if (jeat(c, open == '{' ? '}' : ']'))
			return 0;
		for (;;) {
			if (open == '{') {
				jws(c);
				if (jstring(c, NULL, 0, NULL) != 0 || !jeat(c, ':'))
					return -EINVAL;
			}
			if (jskip(c, depth + 1) != 0)
				return -EINVAL;
			if (jeat(c, ','))
				continue;
			return jeat(c, open == '{' ? '}' : ']') ? 0 : -EINVAL;
		}
	case '"':
		return jstring(c, NULL, 0, NULL);
	case 't':
		return jliteral(c, "true");
	case 'f':
		return jliteral(c, "false");
	case 'n':
		return jliteral(c, "null");
	default:
		return jnumber(c, &num);
	}
}

int iperf_json_check_object(const char *json, u32 len)
{
	struct jcur c = { json, json + len };
	if (!json)
		return -EINVAL;
	jws(&c);
	if (c.p >= c.end || *c.p != '{' || jskip(&c, 0) != 0)
		return -EINVAL;
	jws(&c);
	return c.p == c.end ? 0 : -EINVAL;
}

/* ---- the parameters ---- */

enum pkind { P_BOOL, P_UINT, P_STR };

struct pkey {
	const char *name;
	u8 kind;
	u16 off;           /* of the field in struct iperf_params */
	u16 cap;           /* P_STR: size of the char array */
	u64 min, max;      /* P_UINT: accepted range */
	int ie;            /* error number for a bad value */
};

#define PB(n, f) { n, P_BOOL, offsetof(struct iperf_params, f), 0, 0, 0, IPERF_IE_RECVPARAMS }
#define PU(n, f, lo, hi, e) { n, P_UINT, offsetof(struct iperf_params, f), 0, lo, hi, e }
#define PS(n, f) { n, P_STR, offsetof(struct iperf_params, f), \
		   sizeof(((struct iperf_params *)0)->f), 0, 0, IPERF_IE_RECVPARAMS }

/* The keys iperf3 3.x sends that change what this server does. Limits are
 * iperf3's own (MAX_TIME, MAX_OMIT_TIME, MAX_MSS, MAX_TCP_BUFFER, ...);
 * "parallel" is checked against IPERF_MAX_STREAMS afterwards. */
static const struct pkey pkeys[] = {
	PB("tcp", tcp),
	PB("udp", udp),
	PB("sctp", sctp),
	PB("reverse", reverse),
	PB("bidirectional", bidir),
	PB("nodelay", nodelay),
	PU("time", time_s, 0, 86400, IPERF_IE_DURATION),
	PU("omit", omit_s, 0, 600, IPERF_IE_OMIT),
	PU("parallel", parallel, 1, 128, IPERF_IE_NUMSTREAMS),
	PU("len", blksize, 1, 1u << 20, IPERF_IE_BLOCKSIZE),
	PU("window", window, 0, 512u << 20, IPERF_IE_BUFSIZE),
	PU("MSS", mss, 0, 32767, IPERF_IE_MSS),
	PU("TOS", tos, 0, 255, IPERF_IE_BADTOS),
	PU("burst", burst, 1, 1000, IPERF_IE_BURST),
	PU("num", bytes, 0, UINT64_MAX, IPERF_IE_RECVPARAMS),
	PU("blockcount", blocks, 0, UINT64_MAX, IPERF_IE_RECVPARAMS),
	PU("bandwidth", rate_bps, 0, UINT64_MAX, IPERF_IE_RECVPARAMS),
	PS("congestion", cc_name),
	PS("client_version", client_version),
};

static int param_value(struct jcur *c, const struct pkey *k, struct iperf_params *p,
		       const char **why)
{
	u8 *field = (u8 *)p + k->off;
	jws(c);
	if (k->kind == P_BOOL) {
		bool v = c->p < c->end && *c->p == 't';
		if (jliteral(c, v ? "true" : "false") != 0) {
			*why = "a true/false parameter has another value";
			return IPERF_IE_RECVPARAMS;
		}
		*(bool *)field = v;
		return 0;
	}
	if (k->kind == P_STR) {
		bool cut;
		if (jstring(c, (char *)field, k->cap, &cut) != 0) {
			*why = "a text parameter is not a well-formed string";
			return IPERF_IE_RECVPARAMS;
		}
		return 0;
	}
	struct jnum n;
	if (c->p >= c->end || (*c->p != '-' && (*c->p < '0' || *c->p > '9')) ||
	    jnumber(c, &n) != 0) {
		*why = "a number parameter is not a well-formed number";
		return IPERF_IE_RECVPARAMS;
	}
	if (!n.exact || n.v < k->min || n.v > k->max) {
		*why = "a number parameter is negative, fractional or out of range";
		return k->ie;
	}
	*(u64 *)field = n.v;
	return 0;
}

static void params_default(struct iperf_params *p)
{
	memset(p, 0, sizeof(*p));
	p->tcp = true;
	p->time_s = 10;
	p->parallel = 1;
	p->blksize = 128u << 10;
}

/* What this server does not do, and the congestion control asked for. */
static int params_check(struct iperf_params *p, const char **why)
{
	if (p->udp) {
		*why = "UDP tests are not supported (TCP only)";
		return IPERF_IE_UNIMP;
	}
	if (p->sctp) {
		*why = "SCTP tests are not supported (TCP only)";
		return IPERF_IE_UNIMP;
	}
	if (p->bidir) {
		*why = "bidirectional tests are not supported";
		return IPERF_IE_UNIMP;
	}
	if (p->parallel > IPERF_MAX_STREAMS) {
		*why = "more parallel streams than this server runs (8)";
		return IPERF_IE_NUMSTREAMS;
	}
	if (strcmp(p->cc_name, "cubic") == 0)
		p->cc = TCP_CC_CUBIC;
	else if (strcmp(p->cc_name, "reno") == 0 || strcmp(p->cc_name, "newreno") == 0)
		p->cc = TCP_CC_NEWRENO;
	return 0;
}

int iperf_params_parse(const char *json, u32 len, struct iperf_params *p, const char **why)
{
	static const char *unused;
	if (!why)
		why = &unused;
	*why = "";
	if (!json || !p) {
		*why = "no parameters";
		return IPERF_IE_RECVPARAMS;
	}
	params_default(p);
	struct jcur c = { json, json + len };
	u32 seen = 0;
	_Static_assert(ARRAY_SIZE(pkeys) <= 32, "seen is a 32-bit mask");
	*why = "the parameters are not a well-formed JSON object";
	if (!jeat(&c, '{'))
		return IPERF_IE_RECVPARAMS;
	if (!jeat(&c, '}')) {
		for (;;) {
			char key[24];
			bool cut;
			jws(&c);
			if (jstring(&c, key, sizeof(key), &cut) != 0 || !jeat(&c, ':'))
				return IPERF_IE_RECVPARAMS;
			const struct pkey *k = NULL;
			for (u32 i = 0; !cut && i < ARRAY_SIZE(pkeys); i++) {
				if (strcmp(key, pkeys[i].name) == 0) {
					k = &pkeys[i];
					if (seen & (1u << i)) {
						*why = "a parameter appears twice";
						return IPERF_IE_RECVPARAMS;
					}
					seen |= 1u << i;
				}
			}
			int err = k ? param_value(&c, k, p, why) : (jskip(&c, 1) ? IPERF_IE_RECVPARAMS : 0);
			if (err)
				return err;
			if (jeat(&c, ','))
				continue;
			if (jeat(&c, '}'))
				break;
			return IPERF_IE_RECVPARAMS;
		}
	}
	jws(&c);
	if (c.p != c.end)
		return IPERF_IE_RECVPARAMS; /* something after the object */
	*why = "";
	return params_check(p, why);
}
