/* A small printf for cVM code: formats into a bounded buffer, writes with hostcall 1. */
#include "cvm.h"

struct out {
    char *buf;
    size_t size, len; /* len counts every byte produced, even those that did not fit */
};

static void put(struct out *o, char c)
{
    if (o->len + 1 < o->size)
        o->buf[o->len] = c;
    o->len++;
}

static void put_padded(struct out *o, const char *s, size_t n, int width, char pad)
{
    for (int i = (int)n; i < width; i++)
        put(o, pad);
    for (size_t i = 0; i < n; i++)
        put(o, s[i]);
}

static void put_number(struct out *o, unsigned long v, int neg, unsigned base, int upper, int width,
                       char pad)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char tmp[24];
    size_t n = 0;
    do {
        tmp[sizeof(tmp) - 1 - n++] = digits[v % base];
        v /= base;
    } while (v);
    if (neg)
        tmp[sizeof(tmp) - 1 - n++] = '-';
    put_padded(o, tmp + sizeof(tmp) - n, n, width, pad);
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct out o = {buf, size, 0};
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            put(&o, *fmt);
            continue;
        }
        fmt++;
        char pad = ' ';
        int width = 0, lng = 0;
        if (*fmt == '0')
            pad = '0', fmt++;
        while (*fmt >= '0' && *fmt <= '9')
            width = width * 10 + (*fmt++ - '0');
        while (*fmt == 'l' || *fmt == 'z')
            lng = 1, fmt++;
        switch (*fmt) {
        case 'd':
        case 'i': {
            long v = lng ? va_arg(ap, long) : va_arg(ap, int);
            put_number(&o, v < 0 ? -(unsigned long)v : (unsigned long)v, v < 0, 10, 0, width, pad);
            break;
        }
        case 'u':
        case 'x':
        case 'X': {
            unsigned long v = lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned);
            put_number(&o, v, 0, *fmt == 'u' ? 10 : 16, *fmt == 'X', width, pad);
            break;
        }
        case 'p':
            put(&o, '0');
            put(&o, 'x');
            put_number(&o, (unsigned long)va_arg(ap, void *), 0, 16, 0, width, pad);
            break;
        case 's': {
            const char *s = va_arg(ap, const char *);
            s = s ? s : "(null)";
            put_padded(&o, s, strlen(s), width, ' ');
            break;
        }
        case 'c': put(&o, (char)va_arg(ap, int)); break;
        case '%': put(&o, '%'); break;
        default: /* unknown conversion: print it as it is */
            put(&o, '%');
            if (!*fmt)
                fmt--;
            else
                put(&o, *fmt);
            break;
        }
    }
    if (size)
        buf[o.len < size ? o.len : size - 1] = 0;
    return (int)o.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

int printf(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    size_t len = (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1;
    cvm_write(buf, len);
    return n;
}

int puts(const char *s)
{
    cvm_write(s, strlen(s));
    cvm_write("\n", 1);
    return 0;
}
