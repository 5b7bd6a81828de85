/*
 * The console terminal (kernel/proc/tty.c): /dev/console as a tty with
 * Linux's line discipline, termios ioctls and job control's checks.
 *
 * tty_init (kmain, after the VFS and the REPL) takes COM1's receive
 * interrupt, starts the tty thread and makes /dev/console's opens use the
 * tty's file ops; with repl=ttyS0 the REPL owns the console's input and
 * /dev/console stays the raw device of fs/dev.c.
 *
 * The structures and numbers are Linux's x86-64 ABI (asm-generic termbits
 * and ioctls.h): struct termios as TCGETS moves it, struct winsize.
 */
#ifndef PROC_TTY_H
#define PROC_TTY_H

#include "kernel/lib/types.h"

#define NCCS 19
struct ktermios {
	u32 c_iflag, c_oflag, c_cflag, c_lflag;
	u8 c_line;
	u8 c_cc[NCCS];
};
_Static_assert(sizeof(struct ktermios) == 36, "struct termios as TCGETS moves it");

struct kwinsize {
	u16 ws_row, ws_col, ws_xpixel, ws_ypixel;
};

/* c_cc indices */
enum { VINTR, VQUIT, VERASE, VKILL, VEOF, VTIME, VMIN, VSWTC, VSTART, VSTOP, VSUSP, VEOL,
       VREPRINT, VDISCARD, VWERASE, VLNEXT, VEOL2 };

/* c_iflag */
#define IGNBRK  0000001
#define BRKINT  0000002
#define ISTRIP  0000040
#define INLCR   0000100
#define IGNCR   0000200
#define ICRNL   0000400
#define IXON    0002000
#define IXANY   0004000
/* c_oflag */
#define OPOST   0000001
#define ONLCR   0000004
/* c_cflag */
#define B115200 0010002
#define CS8     0000060
#define CREAD   0000200
#define HUPCL   0002000
#define CLOCAL  0004000
/* c_lflag */
#define ISIG    0000001
#define ICANON  0000002
#define ECHO    0000010
#define ECHOE   0000020
#define ECHOK   0000040
#define ECHONL  0000100
#define NOFLSH  0000200
#define TOSTOP  0000400
#define ECHOCTL 0001000
#define ECHOKE  0004000
#define IEXTEN  0100000

/* ioctls */
#define TCGETS     0x5401
#define TCSETS     0x5402
#define TCSETSW    0x5403
#define TCSETSF    0x5404
#define TCSBRK     0x5409
#define TCXONC     0x540A
#define TCOOFF     0   /* TCXONC's arguments */
#define TCOON      1
#define TCIOFF     2
#define TCION      3
#define TCFLSH     0x540B
#define TIOCSCTTY  0x540E
#define TIOCGPGRP  0x540F
#define TIOCSPGRP  0x5410
#define TIOCOUTQ   0x5411
#define TIOCGWINSZ 0x5413
#define TIOCSWINSZ 0x5414
#define FIONREAD   0x541B
#define TIOCNOTTY  0x5422
#define TIOCGSID   0x5429

void tty_init(void);

#endif
