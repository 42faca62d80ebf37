# Images of unmodified musl programs (images/musl-*): built with Debian's musl-gcc.
