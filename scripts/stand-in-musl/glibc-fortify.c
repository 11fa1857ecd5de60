/*
 * The two glibc "fortify" entry points Debian's LLVM libunwind.a calls (it is compiled
 * against glibc's headers with _FORTIFY_SOURCE), for musl, which has neither: the
 * unchecked functions they stand for. Linked into the musl stand-in's libunwind.a only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

int __vfprintf_chk(FILE *stream, int flag, const char *format, va_list ap)
{
    (void)flag;
    return vfprintf(stream, format, ap);
}

int __vsnprintf_chk(char *s, size_t n, int flag, size_t len, const char *format, va_list ap)
{
    (void)flag;
    (void)len;
    return vsnprintf(s, n, format, ap);
}
