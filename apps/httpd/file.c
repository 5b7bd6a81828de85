/*
 * Opening a request's path under the root directory, one component at a
 * time with openat(2) from the root's descriptor, so no path is ever
 * resolved from "/" and a ".." could not climb out even if one reached here
 * (http_path already removed them).
 *
 * Symbolic links are refused (403) at every component unless -L was given:
 * O_NOFOLLOW on each openat. With -L they are followed wherever they lead,
 * also out of the root: the person who made the link is trusted.
 */
#include "httpd.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int errno_status(int e)
{
	switch (e) {
	case ENOENT:
	case ENOTDIR:
		return 404;
	case EACCES:
	case EPERM:
	case ELOOP:
		return 403;
	case ENAMETOOLONG:
		return 414;
	default:
		return 500;
	}
}

static int open_regular(int dfd, const char *name, int nofollow, bool index, int *fdp,
			struct stat *st)
{
	int fd = openat(dfd, name, O_RDONLY | O_NONBLOCK | O_CLOEXEC | nofollow);
	if (fd < 0) {
		/* a directory without index.html: 403, as nginx without autoindex */
		return index && errno == ENOENT ? 403 : errno_status(errno);
	}
	if (fstat(fd, st) < 0) {
		close(fd);
		return 500;
	}
	if (S_ISDIR(st->st_mode)) {
		close(fd);
		return index ? 403 : 301;
	}
	if (!S_ISREG(st->st_mode)) {
		close(fd);
		return 403; /* devices, pipes, sockets */
	}
	*fdp = fd;
	return 0;
}

int file_open(const struct config *cfg, const char *path, int *fdp, struct stat *st)
{
	int nofollow = cfg->follow_links ? 0 : O_NOFOLLOW;
	int dfd = cfg->rootfd, fd, ret;
	const char *p = path + 1, *slash;
	char name[NAME_MAX + 1];
	size_t n;

	for (;;) {
		slash = strchr(p, '/');
		n = slash ? (size_t)(slash - p) : strlen(p);
		if (n > NAME_MAX) {
			ret = 414;
			break;
		}
		memcpy(name, p, n);
		name[n] = 0;
		if (!slash) {
			ret = n ? open_regular(dfd, name, nofollow, false, fdp, st)
				: open_regular(dfd, "index.html", nofollow, true, fdp, st);
			break;
		}
		fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | nofollow);
		if (fd < 0) {
			ret = errno_status(errno);
			break;
		}
		if (dfd != cfg->rootfd)
			close(dfd);
		dfd = fd;
		p = slash + 1;
	}
	if (dfd != cfg->rootfd)
		close(dfd);
	return ret;
}
