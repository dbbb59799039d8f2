// Byte buffers of the engine and the one way secrets are wiped. Secret material (UIDs, class keys,
// item keys, passwords, plaintext) lives in SecretBytes, which wipes itself when it goes away.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kcb {

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;

// Overwrites memory in a way the optimizer may not remove (OPENSSL_cleanse).
void wipe(std::span<uint8_t> bytes);

// A byte vector that is wiped when destroyed or reassigned. Moves leave the source empty.
class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(size_t n) : b_(n) {}
  explicit SecretBytes(ByteView v) : b_(v.begin(), v.end()) {}
  SecretBytes(const SecretBytes& o) : b_(o.b_) {}
  SecretBytes(SecretBytes&& o) noexcept : b_(std::move(o.b_)) { o.b_.clear(); }
  SecretBytes& operator=(const SecretBytes& o) {
    if (this != &o) {
      clear();
      b_ = o.b_;
    }
    return *this;
  }
  SecretBytes& operator=(SecretBytes&& o) noexcept {
    if (this != &o) {
      clear();
      b_ = std::move(o.b_);
      o.b_.clear();
    }
    return *this;
  }
  ~SecretBytes() { clear(); }

  void clear() {
    wipe(b_);
    b_.clear();
  }
  void resize(size_t n) { b_.resize(n); }
  size_t size() const { return b_.size(); }
  bool empty() const { return b_.empty(); }
  uint8_t* data() { return b_.data(); }
  const uint8_t* data() const { return b_.data(); }
  ByteView view() const { return b_; }
  std::span<uint8_t> span() { return b_; }
  bool operator==(const SecretBytes& o) const { return b_ == o.b_; }

 private:
  Bytes b_;
};

std::string to_hex(ByteView bytes);               // lower case
bool from_hex(std::string_view hex, Bytes* out);  // false on odd length or a non-hex digit

inline ByteView as_bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace kcb
