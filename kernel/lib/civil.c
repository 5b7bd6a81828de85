/*
 * Calendar arithmetic with years counted from March, so that the leap day
 * ends a year: an era is 400 years (146097 days), a year of an era has
 * 365 days plus one every 4 years but not every 100; the day of such a
 * year follows from the month by (153 * month + 2) / 5, the lengths of
 * March..February (31, 30, 31, 30, 31, 31, 30, 31, 30, 31, 31, 28/29).
 * 719468 is the day number of 1970-01-01 counted from 0000-03-01.
 */
#include "kernel/lib/civil.h"

s64 civil_to_days(s64 y, unsigned m, unsigned d)
{
	y -= m <= 2;
	s64 era = (y >= 0 ? y : y - 399) / 400;
	s64 yoe = y - era * 400;                                 /* [0, 399] */
	s64 mp = m > 2 ? (s64)m - 3 : (s64)m + 9;                /* March = 0 */
	s64 doy = (153 * mp + 2) / 5 + (s64)d - 1;               /* [0, 365] */
	s64 doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;         /* [0, 146096] */
	return era * 146097 + doe - 719468;
}

void civil_from_days(s64 days, s64 *y, unsigned *m, unsigned *d)
{
	days += 719468;
	s64 era = (days >= 0 ? days : days - 146096) / 146097;
	s64 doe = days - era * 146097;
	s64 yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	s64 doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	s64 mp = (5 * doy + 2) / 153;
	*d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}
