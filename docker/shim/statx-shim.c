/* statx-shim.c: preloaded (/etc/ld.so.preload) into every dynamic program in
 * the image.  runsc release-20221219 rejects statx() flag AT_NO_AUTOMOUNT with
 * EINVAL, so coreutils 9 `ls` and `stat` fail on every path under gVisor.  On
 * EINVAL the call is retried without that flag, which changes nothing on the
 * container's mounts (there are no automounts).  Built by build.sh. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

int statx(int dirfd, const char *path, int flags, unsigned int mask,
	  struct statx *buf)
{
	long r = syscall(SYS_statx, dirfd, path, flags, mask, buf);

	if (r < 0 && errno == EINVAL && (flags & AT_NO_AUTOMOUNT))
		r = syscall(SYS_statx, dirfd, path, flags & ~AT_NO_AUTOMOUNT,
			    mask, buf);
	return (int)r;
}
