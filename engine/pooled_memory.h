// SQLite's and OpenSSL's memory from per-thread free lists, for processes that run thousands of
// short engine cases (the journey and restore fuzz targets and their replay mains, the agreement
// property). Debian's SQLite is built with SQLITE_OMIT_LOOKASIDE, so every parse node, statement
// and cursor is a malloc of its own (about a quarter of a journey's allocations), and OpenSSL
// allocates a context for every cipher and digest call; under ASan each malloc and free records a
// stack and passes through the quarantine. Here a freed block goes on its thread's list for its
// size class and the next request of that class takes it back. SQLite's own memory statistics (a
// mutex around every malloc) are turned off as well, and its page cache takes its pages one at a
// time from the pool instead of twenty at once in one block malloc'd for every database opened (a
// page with its header is just over 4 KiB: the largest class is 8 KiB). OpenSSL cleanses what it
// keeps secret before it frees it, so idle blocks hold no key. glibc's own heap is kept between
// cases too (trim and mmap thresholds fixed and high): see keep_heap_between_cases.
//
// What ASan still sees: every block is a malloc of its own, so a write past the block's usable size
// hits ASan's redzone, and a block on a free list is poisoned, so a use after free is reported
// until the block is handed out again (not after: there is no quarantine). Neither library is
// instrumented, so what ASan checks of them are the libc calls it intercepts (memcpy, memset, ...).
// The targets whose SQLite reads hostile databases (manifest_db, folder) keep ASan's allocator.
//
// Not for the CLI or library users: it is process-wide configuration of both libraries, which must
// come before either allocates anything, and only processes that run cases by the thousand gain.
#pragma once

#include <cstddef>

namespace kcb {

// Installs the pooled allocator for both libraries and keeps glibc's heap; false when
// KCB_BASELINE_SETUP=1 asks for the old set-up, or when either had already allocated (each library
// that had not is then pooled alone). Safe to call more than once.
bool use_pooled_library_memory();

// Blocks this thread holds on its free lists (tests).
size_t pooled_blocks_idle();

}  // namespace kcb
