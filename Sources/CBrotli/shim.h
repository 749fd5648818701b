// Brotli's encoder and decoder from Debian's libbrotli-dev (br content coding).
#include <brotli/encode.h>
#include <brotli/decode.h>
