/* The wall clock's calendar arithmetic (kernel/lib/civil.c) against the C
 * library's timegm and gmtime_r. */
#include <criterion/criterion.h>
#include <time.h>

#include "kernel/lib/civil.h"

Test(civil, known_days)
{
	cr_assert_eq(civil_to_days(1970, 1, 1), 0);
	cr_assert_eq(civil_to_days(1969, 12, 31), -1);
	cr_assert_eq(civil_to_days(2000, 3, 1), 11017);
	cr_assert_eq(civil_to_days(2009, 2, 13), 14288);   /* 1234567890 s is that day */
	cr_assert_eq(civil_to_days(2038, 1, 19), 24855);
}

/* every day from 1900 to 2200 both ways, leap days and century years
 * included, as glibc's timegm and gmtime_r count them */
Test(civil, every_day_matches_the_c_library)
{
	for (time_t t = -2208988800LL; t < 7258118400LL; t += 86400) {
		struct tm tm;
		cr_assert(gmtime_r(&t, &tm));
		s64 days = civil_to_days(tm.tm_year + 1900, (unsigned)tm.tm_mon + 1,
					 (unsigned)tm.tm_mday);
		cr_assert_eq(days * 86400, (s64)t, "%04d-%02d-%02d", tm.tm_year + 1900,
			     tm.tm_mon + 1, tm.tm_mday);
		s64 y;
		unsigned m, d;
		civil_from_days(days, &y, &m, &d);
		cr_assert(y == tm.tm_year + 1900 && m == (unsigned)tm.tm_mon + 1 &&
			  d == (unsigned)tm.tm_mday, "day %lld", (long long)days);
	}
}
