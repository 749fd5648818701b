// zlib from Debian's zlib1g-dev (gzip and deflate content codings).
#include <zlib.h>
