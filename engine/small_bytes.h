// A byte string that keeps up to kInline bytes inside itself and only longer ones on the heap. A
// keybag is dozens of records of 4, 16, 20 and 40 bytes (engine/keybag.h); as Bytes each was a
// malloc of its own, about a tenth of a journey's allocations (issue 17), and under ASan every
// malloc records a stack. Under ASan the inline buffer's unused tail is poisoned, so a read past a
// short value is still reported, as it was past a Bytes' end.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>

#include "engine/asan.h"
#include "kcbackup/bytes.h"

namespace kcb {

class SmallBytes {
 public:
  static constexpr size_t kInline = 40;

  SmallBytes() { poison_tail(); }
  SmallBytes(ByteView bytes) {
    poison_tail();
    assign(bytes.data(), bytes.data() + bytes.size());
  }
  ~SmallBytes() { KCB_UNPOISON(inline_, kInline); }
  SmallBytes(const Bytes& bytes) : SmallBytes(ByteView(bytes)) {}
  SmallBytes(const SmallBytes& other) : SmallBytes(other.view()) {}
  SmallBytes(SmallBytes&& other) noexcept {
    poison_tail();
    take(other);
  }
  SmallBytes& operator=(const SmallBytes& other) {
    if (this != &other) assign(other.begin(), other.end());
    return *this;
  }
  SmallBytes& operator=(SmallBytes&& other) noexcept {
    if (this != &other) take(other);
    return *this;
  }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  uint8_t* data() { return heap_ ? heap_.get() : inline_; }
  const uint8_t* data() const { return heap_ ? heap_.get() : inline_; }
  uint8_t* begin() { return data(); }
  uint8_t* end() { return data() + size_; }
  const uint8_t* begin() const { return data(); }
  const uint8_t* end() const { return data() + size_; }
  ByteView view() const { return ByteView(data(), size_); }
  operator ByteView() const { return view(); }
  Bytes bytes() const { return Bytes(begin(), end()); }

  void assign(const uint8_t* first, const uint8_t* last) {
    const auto n = static_cast<size_t>(last - first);
    KCB_UNPOISON(inline_, kInline);
    if (n > capacity_) {
      // A fresh buffer before the old one goes: `first` may point into it.
      auto grown = std::make_unique<uint8_t[]>(n);
      std::memcpy(grown.get(), first, n);
      heap_ = std::move(grown);
      capacity_ = n;
    } else if (n > 0) {
      std::memmove(data(), first, n);
    }
    size_ = n;
    poison_tail();
  }
  void resize(size_t n, uint8_t fill = 0) {
    KCB_UNPOISON(inline_, kInline);
    if (n > capacity_) {
      auto grown = std::make_unique<uint8_t[]>(n);
      std::memcpy(grown.get(), data(), size_);
      heap_ = std::move(grown);
      capacity_ = n;
    }
    if (n > size_) std::memset(data() + size_, fill, n - size_);
    size_ = n;
    poison_tail();
  }

  bool operator==(const SmallBytes& other) const {
    return size_ == other.size_ && std::equal(begin(), end(), other.begin());
  }

 private:
  // Everything of the inline buffer past the value (all of it once the value is on the heap).
  void poison_tail() {
    const size_t used = heap_ ? 0 : size_;
    KCB_POISON(inline_ + used, kInline - used);
  }

  void take(SmallBytes& other) {
    KCB_UNPOISON(inline_, kInline);
    if (other.heap_) {
      heap_ = std::move(other.heap_);
      capacity_ = other.capacity_;
      size_ = other.size_;
    } else {
      heap_.reset();
      capacity_ = kInline;
      size_ = other.size_;
      std::memcpy(inline_, other.inline_, size_);
    }
    other.capacity_ = kInline;
    other.size_ = 0;
    poison_tail();
    other.poison_tail();
  }

  uint8_t inline_[kInline] = {};
  std::unique_ptr<uint8_t[]> heap_;
  size_t size_ = 0;
  size_t capacity_ = kInline;
};

}  // namespace kcb
