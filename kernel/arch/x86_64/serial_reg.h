/* 16550 UART registers (offsets from the port base) and bits. */
#ifndef ARCH_SERIAL_REG_H
#define ARCH_SERIAL_REG_H

#define COM1_PORT 0x3f8
#define COM2_PORT 0x2f8

#define UART_RBR 0  /* receive buffer, read, DLAB=0 */
#define UART_THR 0  /* transmit holding, write, DLAB=0 */
#define UART_DLL 0  /* divisor latch low, DLAB=1 */
#define UART_IER 1  /* interrupt enable, DLAB=0 */
#define UART_DLM 1  /* divisor latch high, DLAB=1 */
#define UART_FCR 2  /* FIFO control, write */
#define UART_LCR 3  /* line control */
#define UART_MCR 4  /* modem control */
#define UART_LSR 5  /* line status, read */

#define UART_LCR_8N1  0x03
#define UART_LCR_DLAB 0x80
#define UART_FCR_ENABLE_CLEAR 0x07
#define UART_MCR_DTR_RTS_OUT2 0x0b
#define UART_LSR_DATA_READY 0x01
#define UART_LSR_THR_EMPTY  0x20
#define UART_LSR_PARITY     0x04
#define UART_LSR_FRAMING    0x08
#define UART_LSR_BREAK      0x10
#define UART_IER_RX 0x01

#endif
