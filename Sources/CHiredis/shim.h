// hiredis (Debian libhiredis-dev): used by RedisClient only as the RESP reply parser; the networking is SwiftNIO.
#include <hiredis/hiredis.h>
