// SQLite's memory from per-thread free lists, for processes that run thousands of short engine
// cases (the fuzz targets, the agreement property, the replay mains). Debian's SQLite is built with
// SQLITE_OMIT_LOOKASIDE, so every parse node, statement and cursor is a malloc of its own (about a
// quarter of a journey's allocations), and under ASan each malloc and free records a stack and
// passes through the quarantine. Here a freed block goes on its thread's list for its size class
// and the next request of that class takes it back. SQLite's own memory statistics (a mutex around
// every malloc) are turned off as well.
//
// What ASan still sees: every block is a malloc of its own, so a write past the block's usable size
// hits ASan's redzone, and a block on a free list is poisoned, so a use after free is reported
// until the block is handed out again (not after: there is no quarantine). SQLite itself is not
// instrumented, so what ASan checks of it are the libc calls it intercepts (memcpy, memset, ...).
//
// Not for the CLI or library users: it is process-wide SQLite configuration, which must come before
// SQLite's first use, and only processes that open and close connections by the thousand gain.
#pragma once

#include <cstddef>

namespace kcb {

// Installs the pooled allocator; false (nothing changed) once SQLite has been initialized or when
// KCB_BASELINE_SETUP=1 asks for the old set-up. Safe to call more than once.
bool use_pooled_sqlite_memory();

// Blocks this thread holds on its free lists (tests).
size_t pooled_sqlite_blocks_idle();

}  // namespace kcb
