// A thread's idle objects kept for reuse: SQLite connections are dear to open (issue 17) and one
// belongs to one thread, so each thread keeps its own. Each Tag is a pool of its own.
#pragma once

#include <cstddef>
#include <optional>
#include <utility>
#include <vector>

namespace kcb {

template <typename Tag, typename T, size_t kMaxIdle>
class IdlePool {
 public:
  // An idle object, if the thread has one.
  static std::optional<T> take() {
    if (gone_ || idle_.items.empty()) return std::nullopt;
    T t = std::move(idle_.items.back());
    idle_.items.pop_back();
    return t;
  }
  // Whether give would keep an object (callers skip resetting one that would be dropped).
  static bool has_room() { return !gone_ && idle_.items.size() < kMaxIdle; }
  // Keeps t for a later take, or drops it when the pool is full or gone.
  static void give(T t) {
    if (has_room()) idle_.items.push_back(std::move(t));
  }
  static size_t size() { return gone_ ? 0 : idle_.items.size(); }

 private:
  // An object given back after the pool is destroyed (a static destroyed after the main thread's
  // thread_locals) must not touch it: it pushed into a freed vector, and glibc aborted at exit
  // ("corrupted double-linked list", seen in bench/archive_bench since session 7). The flag is
  // trivially destructible, so it can still be read once the pool is gone.
  struct Items {
    std::vector<T> items;
    ~Items() { gone_ = true; }
  };
  static thread_local bool gone_;
  static thread_local Items idle_;
};

template <typename Tag, typename T, size_t kMaxIdle>
thread_local bool IdlePool<Tag, T, kMaxIdle>::gone_ = false;
template <typename Tag, typename T, size_t kMaxIdle>
thread_local typename IdlePool<Tag, T, kMaxIdle>::Items IdlePool<Tag, T, kMaxIdle>::idle_;

}  // namespace kcb
