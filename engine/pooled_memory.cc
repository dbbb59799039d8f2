// The pooled allocator of SQLite and OpenSSL (engine/pooled_memory.h).
#include "engine/pooled_memory.h"

#include <malloc.h>
#include <openssl/crypto.h>
#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "engine/asan.h"
#include "engine/setup_profile.h"

namespace kcb {
namespace {

// Classes: 16-byte steps up to 256 bytes, then powers of two up to 8 KiB (SQLite's parse nodes,
// expressions and cursors are small; a 4 KiB page and its header take the 8 KiB class). Anything
// larger is malloc'd and freed as is.
constexpr size_t kStepClasses = 16;
constexpr size_t kClasses = kStepClasses + 5;  // 512, 1024, 2048, 4096, 8192
constexpr size_t kBig = kClasses;
// Idle blocks a thread keeps per class; past that a freed block goes back to malloc.
constexpr size_t kMaxIdlePerClass = 1024;

constexpr size_t class_of(size_t n) {
  if (n <= 256) return n == 0 ? 0 : (n - 1) / 16;
  if (n <= 512) return kStepClasses;
  if (n <= 1024) return kStepClasses + 1;
  if (n <= 2048) return kStepClasses + 2;
  if (n <= 4096) return kStepClasses + 3;
  if (n <= 8192) return kStepClasses + 4;
  return kBig;
}

constexpr size_t size_of_class(size_t c) {
  return c < kStepClasses ? 16 * (c + 1) : size_t{512} << (c - kStepClasses);
}

// In front of every block, 16 bytes so that the block keeps malloc's alignment: its class (kBig:
// `size` is the requested size) and, while it is idle, the next idle block of its class. Never
// poisoned: LeakSanitizer does not follow pointers kept in poisoned memory, and would report every
// idle block after the first of a list as leaked.
struct Header {
  uint32_t cls;
  uint32_t size;  // big blocks: the size asked for (SQLite asks for at most 2^31 - 1 at once)
  Header* next;
};
static_assert(sizeof(Header) == 16);

Header* header_of(void* p) {
  return reinterpret_cast<Header*>(static_cast<uint8_t*>(p) - sizeof(Header));
}
void* user_of(Header* h) {
  return reinterpret_cast<uint8_t*>(h) + sizeof(Header);
}

// A thread's idle blocks, freed when the thread ends. A block freed after that (a pooled connection
// closed by a thread_local destroyed later) goes straight back to malloc: `gone` is trivially
// destructible, so it can still be read then.
struct IdleLists {
  std::array<Header*, kClasses> head{};
  std::array<size_t, kClasses> count{};
  ~IdleLists();
};
thread_local bool gone = false;
thread_local IdleLists idle;

IdleLists::~IdleLists() {
  gone = true;
  for (Header*& h : head) {
    while (h != nullptr) {
      Header* next = h->next;
      std::free(h);
      h = next;
    }
  }
}

void* pooled_malloc(int n) {
  if (n <= 0) return nullptr;
  const auto size = static_cast<size_t>(n);
  const size_t c = class_of(size);
  Header* h = nullptr;
  if (c != kBig && !gone && idle.head[c] != nullptr) {
    h = idle.head[c];
    idle.head[c] = h->next;
    --idle.count[c];
  } else {
    const size_t usable = c == kBig ? size : size_of_class(c);
    h = static_cast<Header*>(std::malloc(sizeof(Header) + usable));
    if (h == nullptr) return nullptr;
    h->cls = static_cast<uint32_t>(c);
    h->size = static_cast<uint32_t>(c == kBig ? size : 0);
  }
  h->next = nullptr;
  void* p = user_of(h);
  KCB_UNPOISON(p, c == kBig ? size : size_of_class(c));
  return p;
}

void pooled_free(void* p) {
  if (p == nullptr) return;
  Header* h = header_of(p);
  const size_t c = h->cls;
  if (c == kBig || gone || idle.count[c] >= kMaxIdlePerClass) {
    std::free(h);
    return;
  }
  h->next = idle.head[c];
  idle.head[c] = h;
  ++idle.count[c];
  KCB_POISON(p, size_of_class(c));
}

int pooled_size(void* p) {
  if (p == nullptr) return 0;
  const Header* h = header_of(p);
  return static_cast<int>(h->cls == kBig ? h->size : size_of_class(h->cls));
}

void* pooled_realloc(void* p, int n) {
  if (p == nullptr) return pooled_malloc(n);
  if (n <= 0) {
    pooled_free(p);
    return nullptr;
  }
  const auto old_size = static_cast<size_t>(pooled_size(p));
  // Still within its block's class: the block stays.
  const size_t c = class_of(old_size);
  if (c != kBig && class_of(static_cast<size_t>(n)) == c) return p;
  void* q = pooled_malloc(n);
  if (q == nullptr) return nullptr;  // SQLite keeps p, as after a failed realloc
  std::memcpy(q, p, std::min(old_size, static_cast<size_t>(n)));
  pooled_free(p);
  return q;
}

int pooled_roundup(int n) {
  if (n <= 0) return 0;
  const size_t c = class_of(static_cast<size_t>(n));
  return c == kBig ? (n + 7) & ~7 : static_cast<int>(size_of_class(c));
}

int pooled_init(void*) {
  return SQLITE_OK;
}
void pooled_shutdown(void*) {}

// OpenSSL's hooks (file and line are its own allocation sites; ASan has the stacks anyway).
void* openssl_malloc(size_t n, const char*, int) {
  return n > INT32_MAX ? nullptr : pooled_malloc(static_cast<int>(n));
}
void* openssl_realloc(void* p, size_t n, const char*, int) {
  return n > INT32_MAX ? nullptr : pooled_realloc(p, static_cast<int>(n));
}
void openssl_free(void* p, const char*, int) {
  pooled_free(p);
}

bool pool_sqlite() {
  static const sqlite3_mem_methods methods = {pooled_malloc,   pooled_free,    pooled_realloc,
                                              pooled_size,     pooled_roundup, pooled_init,
                                              pooled_shutdown, nullptr};
  // Both fail with SQLITE_MISUSE once SQLite is initialized: then nothing is changed.
  if (sqlite3_config(SQLITE_CONFIG_MALLOC, &methods) != SQLITE_OK) return false;
  // No bulk block of pages per page cache: each page from its class (a pager per database opened).
  if (sqlite3_config(SQLITE_CONFIG_PAGECACHE, nullptr, 0, 0) != SQLITE_OK) return false;
  return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) == SQLITE_OK;
}

// Refused (0) once OpenSSL has allocated anything.
bool pool_openssl() {
  return CRYPTO_set_mem_functions(openssl_malloc, openssl_realloc, openssl_free) == 1;
}

// glibc's heap kept whole between cases. By default free() gives the top of the heap back to the
// kernel once 128 KiB are free there, and blocks past a threshold that adapts upwards are mmap'd
// and unmapped each time: a case frees most of what it allocated, so the next case grew the heap
// again and faulted its pages back in (4-5 % of an agreement case, session 19). With both
// thresholds fixed and high the heap stays at the largest size a case needed. Under ASan, whose
// allocator is its own, mallopt changes nothing.
void keep_heap_between_cases() {
  constexpr int kKeep = 256 << 20;
  mallopt(M_TRIM_THRESHOLD, kKeep);
  mallopt(M_MMAP_THRESHOLD, 32 << 20);  // glibc's largest allowed value (HEAP_MAX_SIZE / 2)
}

}  // namespace

bool use_pooled_library_memory() {
  static const bool installed = [] {
    if (baseline_setup()) return false;
    keep_heap_between_cases();
    const bool sqlite = pool_sqlite();
    const bool openssl = pool_openssl();
    return sqlite && openssl;
  }();
  return installed;
}

size_t pooled_blocks_idle() {
  if (gone) return 0;
  size_t n = 0;
  for (size_t c : idle.count)
    n += c;
  return n;
}

}  // namespace kcb
