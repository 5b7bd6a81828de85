/* 16550 UART driver, polled. */
#include "kernel/arch/x86_64/serial.h"
#include "kernel/arch/x86_64/serial_reg.h"
#include "kernel/arch/x86_64/x86.h"

bool serial_init(u16 port)
{
	outb(port + UART_IER, 0);
	outb(port + UART_LCR, UART_LCR_DLAB);
	outb(port + UART_DLL, 1); /* 115200 baud */
	outb(port + UART_DLM, 0);
	outb(port + UART_LCR, UART_LCR_8N1);
	outb(port + UART_FCR, UART_FCR_ENABLE_CLEAR);
	outb(port + UART_MCR, UART_MCR_DTR_RTS_OUT2);
	/* A missing port reads back all ones. */
	return inb(port + UART_LSR) != 0xff;
}

/* Wait for the transmitter before each byte. Under QEMU a port whose
 * reader is slow (a socket chardev under load) keeps the holding register
 * full for a while: writing anyway would overwrite a byte, so the wait is
 * long (seconds) and only a dead port is given up on. */
void serial_putc(u16 port, char c)
{
	for (int spins = 0; spins < 5000000; spins++) {
		if (inb(port + UART_LSR) & UART_LSR_THR_EMPTY)
			break;
		__asm__ volatile("pause");
	}
	outb(port + UART_THR, (u8)c);
}

int serial_getc(u16 port)
{
	for (;;) {
		u8 lsr = inb(port + UART_LSR);
		if (!(lsr & UART_LSR_DATA_READY))
			return -1;
		u8 c = inb(port + UART_RBR);
		/* a break (the line held low, e.g. a peer connecting) or a framing
		 * or parity error arrives as a byte that was never sent: skip it */
		if (lsr & (UART_LSR_BREAK | UART_LSR_FRAMING | UART_LSR_PARITY))
			continue;
		return c;
	}
}

void serial_enable_rx_irq(u16 port)
{
	outb(port + UART_IER, UART_IER_RX);
}
