/* 16550 serial ports. serial_init programs 115200 8N1 with FIFOs. Output
 * polls the transmitter; input is polled (serial_getc returns -1 when there
 * is nothing). Callers serialize (printk holds the console lock). */
#ifndef ARCH_SERIAL_H
#define ARCH_SERIAL_H

#include "kernel/lib/types.h"

bool serial_init(u16 port);
void serial_putc(u16 port, char c);
int serial_getc(u16 port);
void serial_enable_rx_irq(u16 port);

#endif
