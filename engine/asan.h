// Telling ASan which bytes of memory we manage ourselves are not to be touched (the pooled library
// allocator's idle blocks, the unused tail of a SmallBytes' inline buffer). No-ops in a build
// without ASan.
#pragma once

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KCB_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define KCB_ASAN 1
#endif

#ifdef KCB_ASAN
#include <sanitizer/asan_interface.h>
#define KCB_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define KCB_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define KCB_POISON(p, n) ((void)(p), (void)(n))
#define KCB_UNPOISON(p, n) ((void)(p), (void)(n))
#endif
