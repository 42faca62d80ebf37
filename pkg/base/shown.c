/* Untrusted text made safe for messages (shown.h). */
#include "shown.h"

#include <stdio.h>
#include <string.h>

const char *cvm_shown(const char *s, size_t max, char *out)
{
    size_t i = 0, o = 0;
    for (; s[i] && i < max; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f)
            out[o++] = (char)c;
        else
            o += (size_t)snprintf(out + o, 5, "\\x%02x", c);
    }
    if (s[i]) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
    return out;
}
