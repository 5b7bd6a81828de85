/* The console as a terminal, compared with Linux: termios defaults, the
 * settings' round trip, window size, FIONREAD, TCFLSH, non-canonical reads
 * with VMIN/VTIME and O_NONBLOCK with nothing typed, poll, and the
 * session calls (setsid, TIOCSCTTY, TIOCGPGRP/TIOCSPGRP, TIOCGSID,
 * getsid, background reads with SIGTTIN ignored) in a child, since pid 1
 * is in no session on Linux and leads its own on Caboose. Nothing is
 * typed on the console during the run; the cflag's speed differs between
 * the two (Linux's 9600 default, Caboose's 115200), so only CSIZE and
 * CREAD of it are printed.
 *
 * `tty shell PROG ARGS...` instead runs PROG in a new session with the
 * console as its controlling terminal, waits for it and exits with its
 * status (the integration test's interactive busybox sh).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include "show.h"

static long ms_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

static void defaults(void)
{
	struct termios t;
	T(isatty(0));
	T(tcgetattr(0, &t));
	printf("iflag %#o oflag %#o lflag %#o csize|cread %#o\n", (unsigned)t.c_iflag,
	       (unsigned)t.c_oflag, (unsigned)t.c_lflag, (unsigned)(t.c_cflag & (CSIZE | CREAD)));
	printf("cc intr %d quit %d erase %d kill %d eof %d time %d min %d eol %d\n",
	       t.c_cc[VINTR], t.c_cc[VQUIT], t.c_cc[VERASE], t.c_cc[VKILL], t.c_cc[VEOF],
	       t.c_cc[VTIME], t.c_cc[VMIN], t.c_cc[VEOL]);
	printf("cc start %d stop %d susp %d werase %d lnext %d eol2 %d\n", t.c_cc[VSTART],
	       t.c_cc[VSTOP], t.c_cc[VSUSP], t.c_cc[VWERASE], t.c_cc[VLNEXT], t.c_cc[VEOL2]);
	int null = open("/dev/null", O_RDWR);
	T(tcgetattr(null, &t));
	T(isatty(null));
	close(null);
}

static void settings(void)
{
	struct termios old, t, back;
	tcgetattr(0, &old);
	t = old;
	t.c_lflag &= ~(ECHO | ICANON);
	t.c_cc[VMIN] = 0;
	t.c_cc[VTIME] = 0;
	T(tcsetattr(0, TCSANOW, &t));
	T(tcgetattr(0, &back));
	printf("lflag after %#o min %d time %d\n", (unsigned)back.c_lflag, back.c_cc[VMIN],
	       back.c_cc[VTIME]);
	char c;
	T(read(0, &c, 1));   /* MIN 0 TIME 0: nothing there */
	t.c_cc[VTIME] = 3;
	T(tcsetattr(0, TCSADRAIN, &t));
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	T(read(0, &c, 1));   /* MIN 0 TIME 3: 0 after 0.3 s */
	long ms = ms_since(&t0);
	printf("waited about 0.3 s: %d\n", ms >= 150 && ms < 10000);   /* TCG timing is loose */
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	T(tcsetattr(0, TCSAFLUSH, &t));
	int fl = fcntl(0, F_GETFL);
	fcntl(0, F_SETFL, fl | O_NONBLOCK);
	T(read(0, &c, 1));   /* MIN 1, nonblocking: EAGAIN */
	T(tcsetattr(0, TCSANOW, &old));
	T(read(0, &c, 1));   /* canonical, nonblocking: EAGAIN */
	fcntl(0, F_SETFL, fl);
	int n = -1;
	T(ioctl(0, FIONREAD, &n));
	printf("FIONREAD %d\n", n);
	T(tcflush(0, TCIFLUSH));
	T(tcflush(0, TCIOFLUSH));
	T(ioctl(0, TCFLSH, 7));
	T(tcdrain(1));
	struct pollfd p = { .fd = 0, .events = POLLIN | POLLOUT };
	T(poll(&p, 1, 50));
	printf("revents %#x\n", p.revents);
	p.events = POLLIN;
	T(poll(&p, 1, 50));
	struct winsize ws = { 0 }, ws2 = { 0 };
	T(ioctl(0, TIOCGWINSZ, &ws));
	printf("winsize %d %d\n", ws.ws_row, ws.ws_col);
	ws2.ws_row = 24;
	ws2.ws_col = 80;
	T(ioctl(0, TIOCSWINSZ, &ws2));
	memset(&ws2, 0, sizeof(ws2));
	T(ioctl(0, TIOCGWINSZ, &ws2));
	printf("winsize %d %d\n", ws2.ws_row, ws2.ws_col);
	T(ioctl(0, TIOCSWINSZ, &ws));
	T(tcgetattr(0, &back));
	printf("restored %d\n", back.c_lflag == old.c_lflag && back.c_iflag == old.c_iflag);
}

/* /dev/tty, with the console as the controlling terminal: the same
 * terminal (its foreground group, its settings), job control's checks. */
static void devtty(pid_t me)
{
	struct stat st;
	T(stat("/dev/tty", &st));
	printf("/dev/tty: char %d, %u:%u\n", S_ISCHR(st.st_mode), major(st.st_rdev),
	       minor(st.st_rdev));
	int fd = open("/dev/tty", O_RDWR | O_NOCTTY);
	printf("open /dev/tty: %d\n", fd >= 0);
	if (fd < 0)
		return;
	int pg = -1;
	T(ioctl(fd, TIOCGPGRP, &pg));
	printf("its foreground group is mine: %d\n", pg == me);
	struct termios a, b;
	T(tcgetattr(fd, &a));
	T(tcgetattr(0, &b));
	printf("its settings are the console's: %d\n", a.c_lflag == b.c_lflag &&
	       a.c_iflag == b.c_iflag && a.c_oflag == b.c_oflag);
	T(write(fd, "written to /dev/tty\n", 20));
	T(isatty(fd));
	T(close(fd));
}

/* In a child: a new session that takes the console. */
static int session(void)
{
	pid_t me = getpid();
	int pg = -1;
	T(ioctl(0, TIOCGPGRP, &pg));   /* no controlling terminal yet */
	printf("setsid is my pid: %d\n", setsid() == me);
	printf("getsid(0) is my pid: %d\n", getsid(0) == me);
	T(ioctl(0, TIOCGPGRP, &pg));
	T(open("/dev/tty", O_RDWR));   /* no controlling terminal: ENXIO */
	T(ioctl(0, TIOCSCTTY, 0));
	T(ioctl(0, TIOCSCTTY, 0));   /* again: already ours */
	devtty(me);
	pg = -1;
	T(ioctl(0, TIOCGPGRP, &pg));
	printf("foreground group is mine: %d\n", pg == me);
	int sid = -1;
	T(ioctl(0, TIOCGSID, &sid));
	printf("sid is mine: %d\n", sid == me);
	printf("tcgetpgrp is mine: %d\n", tcgetpgrp(0) == me);
	int bad = -1;
	T(ioctl(0, TIOCSPGRP, &bad));
	bad = 99999;
	T(ioctl(0, TIOCSPGRP, &bad));
	int fds[2];
	pipe(fds);
	pid_t c = fork();
	if (c == 0) {
		setpgid(0, 0);
		close(fds[1]);
		char x;
		read(fds[0], &x, 1);   /* until the parent closes its end */
		_exit(0);
	}
	setpgid(c, c);   /* both sides, as shells do */
	T(tcsetpgrp(0, c));
	printf("foreground is the child: %d\n", tcgetpgrp(0) == c);
	signal(SIGTTIN, SIG_IGN);
	signal(SIGTTOU, SIG_IGN);
	char ch;
	int fl = fcntl(0, F_GETFL);
	fcntl(0, F_SETFL, fl | O_NONBLOCK);
	T(read(0, &ch, 1));   /* /dev/console: no job control, nothing typed */
	fcntl(0, F_SETFL, fl);
	int tty = open("/dev/ttyS0", O_RDWR);
	T(read(tty, &ch, 1));   /* a background read, SIGTTIN ignored: EIO */
	T(write(tty, "background write\n", 17));
	struct termios t;
	tcgetattr(tty, &t);
	t.c_lflag |= TOSTOP;
	T(tcsetattr(tty, TCSANOW, &t));   /* SIGTTOU ignored: allowed */
	T(write(tty, "background write, TOSTOP\n", 26));
	t.c_lflag &= ~TOSTOP;
	T(tcsetattr(tty, TCSANOW, &t));
	close(tty);
	T(tcsetpgrp(0, me));   /* from the background, SIGTTOU ignored */
	printf("foreground is mine again: %d\n", tcgetpgrp(0) == me);
	close(fds[1]);
	int st;
	waitpid(c, &st, 0);
	signal(SIGHUP, SIG_IGN);   /* the leader's TIOCNOTTY hangs its foreground group up */
	T(ioctl(0, TIOCNOTTY));
	T(ioctl(0, TIOCGPGRP, &pg));
	T(open("/dev/tty", O_RDWR));   /* given up: ENXIO again */
	return 0;
}

/* Job control's stops: SIGSTOP and SIGTSTP stop a child (WUNTRACED sees
 * it), SIGCONT continues it (WCONTINUED sees that), and a read the stop
 * interrupted starts again; SIGTSTP does nothing in an orphaned group. */
static void stop_continue(void)
{
	int st = 0, hold[2];
	pipe(hold);
	pid_t c = fork();
	if (c == 0) {   /* stays until hold closes: the continue is seen before the exit */
		close(hold[1]);
		raise(SIGSTOP);
		char x;
		read(hold[0], &x, 1);
		_exit(7);
	}
	close(hold[0]);
	printf("waitpid WUNTRACED is the child: %d\n", waitpid(c, &st, WUNTRACED) == c);
	printf("stopped %d by %d\n", WIFSTOPPED(st), WSTOPSIG(st));
	T(kill(c, SIGCONT));
	printf("waitpid WCONTINUED is the child: %d\n", waitpid(c, &st, WCONTINUED) == c);
	printf("continued %d\n", WIFCONTINUED(st));
	close(hold[1]);
	printf("waitpid is the child: %d\n", waitpid(c, &st, 0) == c);
	printf("exited %d with %d\n", WIFEXITED(st), WEXITSTATUS(st));
	int fds[2];
	pipe(fds);
	c = fork();
	if (c == 0) {
		setpgid(0, 0);   /* a group of its own: not orphaned, it can stop */
		close(fds[1]);
		char x = 0;
		ssize_t n = read(fds[0], &x, 1);
		_exit(n == 1 && x == 'z' ? 0 : 1);
	}
	setpgid(c, c);
	close(fds[0]);
	usleep(100000);
	T(kill(c, SIGTSTP));
	printf("waitpid WUNTRACED is the child: %d\n", waitpid(c, &st, WUNTRACED) == c);
	printf("stopped %d by %d\n", WIFSTOPPED(st), WSTOPSIG(st));
	T(waitpid(c, &st, WNOHANG | WUNTRACED));   /* reported once */
	T(kill(c, SIGCONT));
	T(write(fds[1], "z", 1));
	printf("waitpid is the child: %d\n", waitpid(c, &st, 0) == c);
	printf("the read started again and got its byte: %d\n", WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(fds[1]);
	c = fork();   /* in our group, orphaned (our parent is init): SIGTSTP does nothing */
	if (c == 0) {
		pause();
		_exit(0);
	}
	usleep(100000);
	T(kill(c, SIGTSTP));
	usleep(300000);
	T(waitpid(c, &st, WNOHANG | WUNTRACED));
	T(kill(c, SIGKILL));
	printf("waitpid is the child: %d\n", waitpid(c, &st, 0) == c);
	printf("killed by %d\n", WIFSIGNALED(st) ? WTERMSIG(st) : -1);
}

static int shell(char **argv)
{
	pid_t c = fork();
	if (c == 0) {
		if (setsid() < 0 || ioctl(0, TIOCSCTTY, 0) < 0) {
			perror("tty shell: setsid, TIOCSCTTY");
			_exit(126);
		}
		execv(argv[0], argv);
		perror("tty shell: execv");
		_exit(127);
	}
	int st;
	if (waitpid(c, &st, 0) < 0)
		return 125;
	printf("tty shell: %s ended: %s %d\n", argv[0], WIFEXITED(st) ? "exit" : "signal",
	       WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc > 2 && strcmp(argv[1], "shell") == 0)
		return shell(argv + 2);
	defaults();
	settings();
	pid_t c = fork();
	if (c == 0) {   /* not pid 1: its children's groups are not orphaned */
		stop_continue();
		_exit(0);
	}
	waitpid(c, NULL, 0);
	c = fork();
	if (c == 0)
		_exit(session());
	int st;
	waitpid(c, &st, 0);
	printf("session child: %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	printf("tty: done\n");
	return 0;
}
