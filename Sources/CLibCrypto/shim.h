// OpenSSL libcrypto primitives used for SCRAM-SHA-256 and MD5 authentication.
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
