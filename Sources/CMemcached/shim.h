// libmemcached (Debian libmemcached-dev): the blocking memcached client that MemcachedClient runs on a thread pool.
#include <libmemcached/memcached.h>
