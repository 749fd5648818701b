// libpg_query (Debian libpg-query-dev): PostgreSQL's own parser, linked statically (the .a carries protobuf-c and xxhash).
#include <pg_query.h>
