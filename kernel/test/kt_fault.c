#include "kernel/test/ktest.h"
