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

// Byte order, in one place. Keybags, binary plists and persistent refs are big-endian; blob
// headers are little-endian. Loads read, and stores write, sizeof(T) bytes at `p`: the caller has
// checked that they are there. Narrowing to uint8_t keeps the low byte, which is the point.
template <typename T>
constexpr T load_be(const uint8_t* p) {
  T v = 0;
  for (size_t i = 0; i < sizeof(T); ++i)
    v = static_cast<T>(v << 8) | T{p[i]};
  return v;
}
template <typename T>
constexpr T load_le(const uint8_t* p) {
  T v = 0;
  for (size_t i = sizeof(T); i-- > 0;)
    v = static_cast<T>(v << 8) | T{p[i]};
  return v;
}
template <typename T>
constexpr void store_be(uint8_t* p, T v) {
  for (size_t i = sizeof(T); i-- > 0; v = static_cast<T>(v >> 8))
    p[i] = static_cast<uint8_t>(v);
}
template <typename T>
constexpr void store_le(uint8_t* p, T v) {
  for (size_t i = 0; i < sizeof(T); ++i, v = static_cast<T>(v >> 8))
    p[i] = static_cast<uint8_t>(v);
}
// The same, appended to a buffer.
template <typename T>
void append_be(Bytes& out, T v) {
  out.resize(out.size() + sizeof(T));
  store_be(out.data() + out.size() - sizeof(T), v);
}
template <typename T>
void append_le(Bytes& out, T v) {
  out.resize(out.size() + sizeof(T));
  store_le(out.data() + out.size() - sizeof(T), v);
}

constexpr uint32_t load_be32(const uint8_t* p) {
  return load_be<uint32_t>(p);
}
constexpr uint32_t load_le32(const uint8_t* p) {
  return load_le<uint32_t>(p);
}
constexpr uint64_t load_be64(const uint8_t* p) {
  return load_be<uint64_t>(p);
}
constexpr void store_be32(uint8_t* p, uint32_t v) {
  store_be(p, v);
}
constexpr void store_le32(uint8_t* p, uint32_t v) {
  store_le(p, v);
}

}  // namespace kcb
