/*
 * compat.h: the first include of every .c in this project.  Feature macros,
 * attributes, and git-style traps for functions we do not use (banned.h):
 * a call to one of them fails to compile.
 */
#ifndef COMPAT_H
#define COMPAT_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
/* The headers that declare banned functions come before the traps. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ATTR_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define ATTR_NORETURN __attribute__((noreturn))
#define ATTR_UNUSED __attribute__((unused))
#define ATTR_NODISCARD __attribute__((warn_unused_result))

#define nitems(a) (sizeof(a) / sizeof((a)[0]))

/* Banned: unbounded copies and non-reentrant time/tokeniser functions. */
#define BANNED(f) sorry_##f##_is_banned_in_this_project
#undef strcpy
#define strcpy(x, y) BANNED(strcpy)
#undef strcat
#define strcat(x, y) BANNED(strcat)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef strtok
#define strtok(x, y) BANNED(strtok)
#undef gmtime
#define gmtime(t) BANNED(gmtime)
#undef localtime
#define localtime(t) BANNED(localtime)
#undef atoi
#define atoi(s) BANNED(atoi)

#endif /* COMPAT_H */
