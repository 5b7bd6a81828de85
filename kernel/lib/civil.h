/*
 * Dates of the proleptic Gregorian calendar and days since 1970-01-01 (UTC,
 * no leap seconds, as POSIX time counts): the wall clock's conversions.
 */
#ifndef KLIB_CIVIL_H
#define KLIB_CIVIL_H

#include "kernel/lib/types.h"

/* Days from 1970-01-01 to year y, month m (1-12), day d (1-31). */
s64 civil_to_days(s64 y, unsigned m, unsigned d);
/* The date of a day number (the inverse of civil_to_days). */
void civil_from_days(s64 days, s64 *y, unsigned *m, unsigned *d);

#endif
