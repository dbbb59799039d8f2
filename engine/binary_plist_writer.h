// A writer of Apple's binary property list ("bplist00"; CFBinaryPList.c's layout: objects, offset
// table, 32-byte trailer) whose bytes are a pure function of the calls made on it.
//
// Why not libplist's plist_to_bin: libplist 2.2 uniques objects through a hash table that hashes
// data, arrays and dictionaries by their address but compares them by content, so whether two
// equal blobs are written once or twice depends on where malloc put them, and one archive could be
// written as different bytes from one run to the next (the archive fuzz target caught it:
// write(read(write(x))) != write(x)). It also wants a whole libplist tree, a copy of every blob.
//
// Objects are added bottom-up (children before their container) and numbered in the order they
// are added; strings are uniqued by content, data and containers are written once per call. Data
// is referenced, not copied: the bytes must outlive finish(). Strings are copied.
//
// A writer's working memory (objects, references, string texts and their hash table) comes from
// a per-thread pool and goes back, emptied, when the writer is destroyed: a backup writes a
// dozen property lists, and growing these from nothing each time was a third of the allocations
// of writing one (issue 17). The output bytes are the caller's.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/idle_pool.h"
#include "kcbackup/bytes.h"

namespace kcb {

// Property-list dates count seconds from 2001-01-01 (CFAbsoluteTime); this is that instant in Unix
// seconds.
inline constexpr int64_t kAppleEpochUnixSeconds = 978'307'200;

class BinaryPlistWriter {
 public:
  using Ref = uint64_t;

  Ref boolean(bool value);
  // 1, 2 or 4 bytes unsigned when the value fits, else 8 bytes (CFBinaryPList: 8-byte integers
  // are signed, so a negative value takes 8 bytes).
  Ref integer(int64_t value);
  // NSKeyedArchiver's object reference (marker 0x8n): 1, 2, 4 or 8 big-endian bytes, the fewest
  // that hold the value.
  Ref uid(uint64_t value);
  // A date (marker 0x33) from Unix seconds.
  Ref date(int64_t unix_seconds);
  Ref data(ByteView bytes);
  // text: valid UTF-8 (asserted; written as ASCII when it is, else as UTF-16BE).
  Ref string(std::string_view text);
  Ref array(std::span<const Ref> items);
  Ref dict(std::span<const std::pair<Ref, Ref>> entries);  // (key string, value) pairs

  // The document with `top` as its root object. The writer is spent afterwards.
  Bytes finish(Ref top);

 private:
  enum class Kind : uint8_t { kBoolean, kInteger, kUid, kDate, kData, kString, kArray, kDict };
  struct Object {
    Kind kind;
    const uint8_t* bytes = nullptr;  // data (the caller's bytes)
    size_t size = 0;                 // data or text bytes; a boolean's value; container entries
    size_t first_ref = 0;            // into refs: an array's items; a dictionary's keys then values
    uint64_t value = 0;  // an integer's (two's complement) or a UID's value; a text's offset
  };

  // The pooled working memory. A string object's text is texts[value, value + size); slots is an
  // open-addressing table of string objects (Ref + 1, 0 when free), a power of two long.
  struct Scratch {
    std::vector<Object> objects;
    std::vector<Ref> refs;
    std::string texts;
    std::vector<uint64_t> slots;
    size_t strings = 0;
    void clear();
  };
  // One idle Scratch per thread: a writer finishes before the next one of its thread begins.
  using ScratchPool = IdlePool<struct ScratchTag, Scratch, 1>;

 public:
  BinaryPlistWriter();
  ~BinaryPlistWriter();
  BinaryPlistWriter(const BinaryPlistWriter&) = delete;
  BinaryPlistWriter& operator=(const BinaryPlistWriter&) = delete;

 private:
  Ref add(Object object);
  std::string_view text_of(const Object& object) const;
  uint64_t* slot_for(std::string_view text, uint64_t hash);
  void grow_slots();
  void put_be(uint64_t value, size_t bytes);
  void put_marker(uint8_t high, uint64_t count);
  void put_text(std::string_view text);
  void put_object(const Object& object, size_t ref_size);

  Scratch s_;
  Bytes out_;
};

}  // namespace kcb
