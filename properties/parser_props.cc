// Parsers refuse what their writers never write (testing.md: "a parser that trusts a length").
// The round-trip suite only feeds the parsers canonical bytes; here they get the near misses:
//   - blob: any version but 3, any wrapped_key_len but 40, anything shorter than header + wrapped
//     key + tag is refused with a precise error; the keyclass field's upper (generation) bits are
//     flags, not class (formats.md).
//   - DER: a generated value's canonical bytes with one targeted non-canonical change (two
//     dictionary entries swapped, a length in long form, an INTEGER padded, a BOOLEAN other than
//     00/01) are refused naming the rule; any other mutation is refused or re-encodes to the very
//     same bytes.
//   - keybag: variants of real bags (create_keybag) with a record cut short, a fixed-size record of
//     another size, ITER/DPIC above the cap, or one record past the record cap are refused with
//     the error kind and a message naming the record.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <limits>
#include <map>
#include <set>

#include "engine/blob.h"
#include "engine/keybag.h"
#include "kcbackup/der.h"
#include "properties/generators.h"

namespace kcb {
namespace {

bool mentions(const Status& st, std::string_view text) {
  return st.message().find(text) != std::string::npos;
}

// ---- blob ----

void store_le32_at(Bytes& b, size_t offset, uint32_t v) {
  for (int i = 0; i < 4; ++i)
    b[offset + i] = static_cast<uint8_t>(v >> (8 * i));
}

struct SealedBlob {
  Bytes class_key;
  Bytes plaintext;
  Bytes blob;
};

SealedBlob sealed_blob(uint32_t keyclass_field) {
  auto r = make_seeded_random(*rc::gen::arbitrary<uint64_t>().as("seed"));
  SealedBlob s;
  s.class_key.resize(kClassKeySize);
  r->fill(s.class_key);
  s.plaintext = *rc::gen::container<Bytes>(rc::gen::arbitrary<uint8_t>()).as("plaintext");
  auto blob = seal_blob(keyclass_field, s.class_key, s.plaintext, *r);
  RC_ASSERT(blob.ok());
  s.blob = std::move(blob).value();
  return s;
}

// A u32 other than `except`, mostly near it (the plausible off-by-a-little values).
rc::Gen<uint32_t> gen_u32_other_than(uint32_t except) {
  return rc::gen::suchThat(rc::gen::weightedOneOf<uint32_t>({
                               {4, rc::gen::inRange<uint32_t>(0, 2 * except + 2)},
                               {1, rc::gen::arbitrary<uint32_t>()},
                           }),
                           [except](uint32_t v) { return v != except; });
}

RC_GTEST_PROP(Parser, BlobOfAnotherVersionIsUnsupported, ()) {
  SealedBlob s = sealed_blob(*rc::gen::inRange<uint32_t>(6, 13).as("key class"));
  const uint32_t version = *gen_u32_other_than(kBlobVersion).as("version");
  store_le32_at(s.blob, 0, version);
  auto parsed = parse_blob(s.blob);
  RC_ASSERT(!parsed.ok());
  RC_ASSERT(parsed.status().code() == Code::kUnsupported);
  RC_ASSERT(mentions(parsed.status(), "version " + std::to_string(version)));
  RC_ASSERT(mentions(parsed.status(), "offset 0"));
}

RC_GTEST_PROP(Parser, BlobWithAnotherWrappedKeyLengthIsCorrupt, ()) {
  SealedBlob s = sealed_blob(*rc::gen::inRange<uint32_t>(6, 13).as("key class"));
  const uint32_t wrapped_len = *gen_u32_other_than(kWrappedItemKeySize).as("wrapped_key_len");
  store_le32_at(s.blob, 8, wrapped_len);
  auto parsed = parse_blob(s.blob);
  RC_ASSERT(!parsed.ok());
  RC_ASSERT(parsed.status().code() == Code::kCorruption);
  RC_ASSERT(
      mentions(parsed.status(), "wrapped_key_len at offset 8 is " + std::to_string(wrapped_len)));
}

// Any prefix shorter than header + wrapped key + tag is refused; a longer prefix parses (the
// structure is intact, only the GCM tag can tell) and then fails to open.
RC_GTEST_PROP(Parser, BlobShorterThanHeaderKeyAndTagIsTruncated, ()) {
  SealedBlob s = sealed_blob(*rc::gen::inRange<uint32_t>(6, 13).as("key class"));
  const size_t keep =
      *rc::gen::weightedOneOf<size_t>({
                                          {3, rc::gen::inRange<size_t>(0, kBlobOverhead)},
                                          {1, rc::gen::inRange<size_t>(0, s.blob.size())},
                                      })
           .as("bytes kept");
  const Bytes cut(s.blob.begin(), s.blob.begin() + keep);
  auto parsed = parse_blob(cut);
  if (keep < kBlobOverhead) {
    RC_ASSERT(!parsed.ok());
    RC_ASSERT(parsed.status().code() == Code::kCorruption);
    RC_ASSERT(mentions(parsed.status(), "truncated at offset"));
    return;
  }
  RC_ASSERT(parsed.ok());
  RC_ASSERT(parsed->ciphertext.size() == keep - kBlobOverhead);
  RC_ASSERT(parsed->tag.size() == kBlobTagSize);
  RC_ASSERT(!open_blob(*parsed, s.class_key).ok());
}

RC_GTEST_PROP(Parser, BlobKeyclassUpperBitsAreFlagsNotClass, ()) {
  const uint32_t key_class = *rc::gen::inRange<uint32_t>(6, 13).as("key class");
  const uint32_t flags = *rc::gen::inRange<uint32_t>(1, 1u << 28).as("generation flags");
  const uint32_t field = key_class | (flags << 4);
  SealedBlob s = sealed_blob(field);
  auto parsed = parse_blob(s.blob);
  RC_ASSERT(parsed.ok());
  RC_ASSERT(parsed->keyclass_field == field);
  RC_ASSERT(parsed->key_class == key_class);
  RC_ASSERT(key_class_of(field) == key_class);
  auto opened = open_blob(*parsed, s.class_key);
  RC_ASSERT(opened.ok());
  RC_ASSERT(Bytes(opened->view().begin(), opened->view().end()) == s.plaintext);
}

// ---- DER ----

constexpr uint8_t kDerBoolean = 0x01;
constexpr uint8_t kDerInteger = 0x02;
constexpr uint8_t kDerSequence = 0x30;
constexpr uint8_t kDerSet = 0x31;

// A DER element as the bytes show it, so that one element can be changed and the enclosing
// lengths recomputed. Only SEQUENCE and SET are constructed in der_plist.
struct Tlv {
  uint8_t tag = 0;
  Bytes content;              // primitive elements
  std::vector<Tlv> children;  // SEQUENCE and SET
  bool long_length = false;   // write the length non-minimally (a long form it does not need)
};

bool is_constructed(uint8_t tag) {
  return tag == kDerSequence || tag == kDerSet;
}

// Reads canonical bytes (what encode_der wrote); the caller asserts the result.
bool read_tlv(ByteView b, size_t& pos, Tlv& out) {
  if (b.size() - pos < 2) return false;
  out.tag = b[pos++];
  size_t len = b[pos++];
  if (len & 0x80) {
    const size_t n = len & 0x7F;
    if (n == 0 || n > 4 || b.size() - pos < n) return false;
    len = 0;
    for (size_t i = 0; i < n; ++i)
      len = (len << 8) | b[pos++];
  }
  if (b.size() - pos < len) return false;
  const size_t end = pos + len;
  if (!is_constructed(out.tag)) {
    out.content.assign(b.begin() + pos, b.begin() + end);
    pos = end;
    return true;
  }
  while (pos < end) {
    Tlv child;
    if (!read_tlv(b.first(end), pos, child)) return false;
    out.children.push_back(std::move(child));
  }
  return pos == end;
}

void write_length(size_t len, bool long_length, Bytes& out) {
  if (len < 0x80 && !long_length) {
    out.push_back(static_cast<uint8_t>(len));
    return;
  }
  Bytes digits;
  for (size_t v = len; v != 0; v >>= 8)
    digits.insert(digits.begin(), static_cast<uint8_t>(v));
  if (digits.empty()) digits.push_back(0);
  // A length under 128 in long form (81 05), or a longer one with a leading zero (82 00 85).
  if (long_length && len >= 0x80) digits.insert(digits.begin(), 0);
  out.push_back(static_cast<uint8_t>(0x80 | digits.size()));
  out.insert(out.end(), digits.begin(), digits.end());
}

Bytes write_tlv(const Tlv& t) {
  Bytes content = t.content;
  for (const Tlv& c : t.children) {
    const Bytes b = write_tlv(c);
    content.insert(content.end(), b.begin(), b.end());
  }
  Bytes out{t.tag};
  write_length(content.size(), t.long_length, out);
  out.insert(out.end(), content.begin(), content.end());
  return out;
}

void collect(Tlv& t, std::vector<Tlv*>& all) {
  all.push_back(&t);
  for (Tlv& c : t.children)
    collect(c, all);
}

enum class DerFlaw { kEntriesSwapped, kLongLength, kPaddedInteger, kBooleanByte };

std::string_view flaw_name(DerFlaw f) {
  switch (f) {
    case DerFlaw::kEntriesSwapped:
      return "two dictionary entries swapped";
    case DerFlaw::kLongLength:
      return "a length in long form";
    case DerFlaw::kPaddedInteger:
      return "an INTEGER with a redundant leading byte";
    case DerFlaw::kBooleanByte:
      return "a BOOLEAN byte other than 00/01";
  }
  return "?";
}

// The rule each flaw breaks, as the decoder's error names it.
std::string_view rule_of(DerFlaw f) {
  switch (f) {
    case DerFlaw::kEntriesSwapped:
      return "not in canonical order";
    case DerFlaw::kLongLength:
      return "non-minimal length";
    case DerFlaw::kPaddedInteger:
      return "non-minimal INTEGER";
    case DerFlaw::kBooleanByte:
      return "BOOLEAN byte";
  }
  return "?";
}

bool flaw_applies(DerFlaw f, const Tlv& t) {
  switch (f) {
    case DerFlaw::kEntriesSwapped:
      return t.tag == kDerSet && t.children.size() >= 2;
    case DerFlaw::kLongLength:
      return true;
    case DerFlaw::kPaddedInteger:
      // A 9-byte INTEGER would be refused for its size, whatever the padding rule says.
      return t.tag == kDerInteger && t.content.size() < 8;
    case DerFlaw::kBooleanByte:
      return t.tag == kDerBoolean;
  }
  return false;
}

// `pick` chooses among the candidates (swap position, boolean byte) so that shrinking stays
// meaningful.
void apply_flaw(DerFlaw f, Tlv& t, size_t pick) {
  switch (f) {
    case DerFlaw::kEntriesSwapped: {
      const size_t i = pick % (t.children.size() - 1);
      std::swap(t.children[i], t.children[i + 1]);
      return;
    }
    case DerFlaw::kLongLength:
      t.long_length = true;
      return;
    case DerFlaw::kPaddedInteger:
      t.content.insert(t.content.begin(), (t.content[0] & 0x80) ? 0xFF : 0x00);
      return;
    case DerFlaw::kBooleanByte:
      // 0xFF (DER's own TRUE) half the time: the plausible thing to let through.
      t.content[0] = (pick % 2 == 0) ? 0xFF : static_cast<uint8_t>(0x02 + pick % 0xFD);
      return;
  }
}

// A dictionary (an item's shape) that holds at least one INTEGER and one BOOLEAN and two entries,
// so that every flaw has somewhere to go; the other entries are arbitrary values.
rc::Gen<DerValue> gen_der_dictionary() {
  return rc::gen::apply(
      [](int64_t i, bool b, const std::vector<std::pair<std::string, DerValue>>& more) {
        DerDict d;
        for (const auto& [k, v] : more)
          d.set(k, v);
        d.set("int", DerValue::Integer(i));
        d.set("bool", DerValue::Boolean(b));
        return DerValue::Dictionary(std::move(d));
      },
      rc::gen::weightedOneOf<int64_t>(
          {{2, rc::gen::inRange<int64_t>(-300, 300)},
           // up to 7 content bytes: padding keeps it under 9
           {1, rc::gen::inRange<int64_t>(-(int64_t{1} << 55), int64_t{1} << 55)}}),
      rc::gen::arbitrary<bool>(),
      rc::gen::container<std::vector<std::pair<std::string, DerValue>>>(
          rc::gen::pair(props::gen_utf8_text(8), props::gen_der_value(2))));
}

RC_GTEST_PROP(Parser, DerNonCanonicalFormsAreRefusedNamingTheRule, ()) {
  const DerValue value = *gen_der_dictionary().as("value");
  auto canonical = encode_der(value);
  RC_ASSERT(canonical.ok());
  Tlv root;
  size_t pos = 0;
  RC_ASSERT(read_tlv(*canonical, pos, root));
  RC_ASSERT(pos == canonical->size());
  RC_ASSERT(write_tlv(root) == *canonical);
  for (DerFlaw flaw : {DerFlaw::kEntriesSwapped, DerFlaw::kLongLength, DerFlaw::kPaddedInteger,
                       DerFlaw::kBooleanByte}) {
    Tlv copy = root;
    std::vector<Tlv*> all;
    collect(copy, all);
    std::vector<Tlv*> candidates;
    for (Tlv* t : all) {
      if (flaw_applies(flaw, *t)) candidates.push_back(t);
    }
    RC_ASSERT(!candidates.empty());
    const size_t which = *rc::gen::inRange<size_t>(0, candidates.size());
    const size_t pick = *rc::gen::inRange<size_t>(0, 256);
    apply_flaw(flaw, *candidates[which], pick);
    const Bytes flawed = write_tlv(copy);
    auto decoded = decode_der(flawed);
    if (decoded.ok() || decoded.status().code() != Code::kCorruption ||
        !mentions(decoded.status(), rule_of(flaw))) {
      RC_LOG() << flaw_name(flaw) << " (candidate " << which << ", pick " << pick
               << "): " << to_hex(flawed) << "\n  -> "
               << (decoded.ok() ? "accepted" : decoded.status().to_string()) << "\n";
      RC_FAIL(std::string(flaw_name(flaw)) + " was not refused as '" + std::string(rule_of(flaw)) +
              "'");
    }
  }
}

struct DerMutation {
  enum Kind { kFlipBit, kSetByte, kInsertByte, kDeleteByte, kTruncate } kind = kFlipBit;
  size_t offset = 0;  // reduced modulo the length
  uint8_t byte = 0;
};

void showValue(const DerMutation& m, std::ostream& os) {
  static const char* kNames[] = {"flip bit", "set byte", "insert byte", "delete byte", "truncate"};
  os << kNames[m.kind] << " at " << m.offset << " (" << int(m.byte) << ")";
}

Bytes mutated(Bytes b, const DerMutation& m) {
  if (b.empty()) return b;
  const size_t at = m.offset % b.size();
  switch (m.kind) {
    case DerMutation::kFlipBit:
      b[at] ^= static_cast<uint8_t>(1u << (m.byte % 8));
      break;
    case DerMutation::kSetByte:
      b[at] = m.byte;
      break;
    case DerMutation::kInsertByte:
      b.insert(b.begin() + at, m.byte);
      break;
    case DerMutation::kDeleteByte:
      b.erase(b.begin() + at);
      break;
    case DerMutation::kTruncate:
      b.resize(at);
      break;
  }
  return b;
}

// decode_der's contract (der.h): whatever it accepts re-encodes to the very same bytes.
RC_GTEST_PROP(Parser, DerMutatedBytesAreRefusedOrReencodeIdentically, ()) {
  const DerValue value = *props::gen_der_value(3).as("value");
  auto canonical = encode_der(value);
  RC_ASSERT(canonical.ok());
  const auto mutations =
      *rc::gen::container<std::vector<DerMutation>>(
           rc::gen::apply(
               [](int kind, size_t offset, uint8_t byte) {
                 return DerMutation{static_cast<DerMutation::Kind>(kind), offset, byte};
               },
               rc::gen::inRange(0, 5), rc::gen::inRange<size_t>(0, 1u << 16),
               rc::gen::arbitrary<uint8_t>()))
           .as("mutations");
  const Bytes bytes = [&] {
    Bytes b = *canonical;
    for (const DerMutation& m : mutations)
      b = mutated(std::move(b), m);
    return b;
  }();
  auto decoded = decode_der(bytes);
  if (!decoded.ok()) {
    RC_TAG("refused");
    return;
  }
  RC_TAG(bytes == *canonical ? "unchanged" : "accepted another value");
  auto again = encode_der(*decoded);
  RC_ASSERT(again.ok());
  RC_ASSERT(*again == bytes);
}

// ---- keybag ----

struct RealBag {
  Bytes bytes;
  Keybag bag;
  std::vector<KeybagRecord> records;  // in file order
};

// A bag as create_keybag writes them: system or backup type, any class numbers and layers, with or
// without double protection. The KDF counts are tiny; only parsing is exercised.
RealBag real_bag() {
  auto r = make_seeded_random(*rc::gen::arbitrary<uint64_t>().as("seed"));
  const auto classes = *props::gen_keybag_classes(true).as("classes");
  const bool double_protection = *rc::gen::arbitrary<bool>().as("double protection");
  const auto type = *rc::gen::element(KeybagType::kSystem, KeybagType::kBackup).as("type");
  Bytes device_key(16);
  r->fill(device_key);
  auto made = create_keybag(type, classes, as_bytes(std::string("pw")), ByteView(device_key),
                            KeybagKdf{2, double_protection, 3}, *r);
  RC_ASSERT(made.ok());
  RealBag out;
  out.bytes = serialize_keybag(made->bag);
  out.bag = made->bag;
  out.records = made->bag.header_records;
  for (const KeybagClass& c : made->bag.classes)
    out.records.insert(out.records.end(), c.records.begin(), c.records.end());
  return out;
}

Bytes write_records(const std::vector<KeybagRecord>& records) {
  Bytes out;
  for (const KeybagRecord& r : records) {
    out.insert(out.end(), r.tag.begin(), r.tag.end());
    append_be(out, static_cast<uint32_t>(r.value.size()));
    out.insert(out.end(), r.value.begin(), r.value.end());
  }
  return out;
}

// The size a record of this tag must have, by formats.md; 0 for a record of free size. `wrap` is
// the WRAP of the class group the record is in (WPKY: 40 bytes under a password, else 32).
size_t fixed_size(const std::string& tag, uint32_t wrap) {
  static const std::map<std::string, size_t> kSizes = {
      {"VERS", 4}, {"TYPE", 4}, {"WRAP", 4},  {"ITER", 4},  {"DPWT", 4},  {"DPIC", 4},
      {"CLAS", 4}, {"KTYP", 4}, {"UUID", 16}, {"SALT", 20}, {"DPSL", 20}, {"HMCK", 40}};
  if (tag == "WPKY") return (wrap & kWrapPassword) ? 40 : 32;
  auto it = kSizes.find(tag);
  return it == kSizes.end() ? 0 : it->second;
}

// The WRAP of the class group each record belongs to (0 for header records).
std::vector<uint32_t> group_wraps(const RealBag& b) {
  std::vector<uint32_t> wraps(b.bag.header_records.size(), 0);
  for (const KeybagClass& c : b.bag.classes)
    wraps.insert(wraps.end(), c.records.size(), c.wrap);
  return wraps;
}

RC_GTEST_PROP(Keybag, ARecordCutShortIsRefusedNamingIt, ()) {
  const RealBag b = real_bag();
  RC_ASSERT(parse_keybag(b.bytes).ok());
  // Every record of the bag, cut at a drawn point inside it (its header or its value).
  for (const KeybagRecord& r : b.records) {
    const size_t record_size = 8 + r.value.size();
    const size_t within = *rc::gen::weightedOneOf<size_t>({
        {1, rc::gen::inRange<size_t>(1, record_size)},
        // The last 8 bytes: where an 8-byte slip in the check would hide.
        {1,
         rc::gen::inRange<size_t>(record_size - std::min<size_t>(8, record_size - 1), record_size)},
    });
    const Bytes cut(b.bytes.begin(), b.bytes.begin() + r.offset + within);
    auto parsed = parse_keybag(cut);
    RC_LOG() << "record '" << r.tag << "' at " << r.offset << " cut after " << within << " bytes\n";
    RC_ASSERT(!parsed.ok());
    RC_ASSERT(parsed.status().code() == Code::kCorruption);
    if (within < 8) {
      RC_ASSERT(mentions(parsed.status(),
                         "truncated record header at offset " + std::to_string(r.offset)));
    } else {
      RC_ASSERT(mentions(parsed.status(),
                         "record '" + r.tag + "' at offset " + std::to_string(r.offset)));
      RC_ASSERT(mentions(parsed.status(), "runs past the end"));
    }
  }
}

RC_GTEST_PROP(Keybag, AFixedSizeRecordOfAnotherSizeIsRefusedNamingIt, ()) {
  const RealBag b = real_bag();
  const std::vector<uint32_t> wraps = group_wraps(b);
  size_t checked = 0;
  for (size_t i = 0; i < b.records.size(); ++i) {
    const KeybagRecord& r = b.records[i];
    const size_t want = fixed_size(r.tag, wraps[i]);
    if (want == 0) continue;
    const size_t size = *rc::gen::suchThat(rc::gen::weightedOneOf<size_t>({
                                               {4, rc::gen::inRange<size_t>(0, 2 * want + 1)},
                                               {1, rc::gen::inRange<size_t>(0, 1025)},
                                           }),
                                           [want](size_t n) { return n != want; });
    std::vector<KeybagRecord> records = b.records;
    records[i].value.resize(size, 0xA5);
    auto parsed = parse_keybag(write_records(records));
    RC_LOG() << "record '" << r.tag << "' at " << r.offset << " of " << size << " bytes (not "
             << want << ")\n";
    RC_ASSERT(!parsed.ok());
    RC_ASSERT(parsed.status().code() == Code::kCorruption);
    RC_ASSERT(mentions(parsed.status(), r.tag));
    RC_ASSERT(mentions(parsed.status(), std::to_string(size)));
    ++checked;
  }
  RC_ASSERT(checked >= 10u);  // the header's fixed records and one class group at least
}

RC_GTEST_PROP(Keybag, IterationCountsAboveTheCapAreRefused, ()) {
  const RealBag b = real_bag();
  std::vector<std::string> tags{"ITER"};
  if (b.bag.double_protection) tags.push_back("DPIC");
  const std::string tag = *rc::gen::elementOf(tags).as("record");
  const uint32_t cap =
      *rc::gen::weightedOneOf<uint32_t>({
                                            {1, rc::gen::just(KeybagLimits{}.max_iterations)},
                                            {2, rc::gen::inRange<uint32_t>(1, 20'000'000)},
                                        })
           .as("cap");
  const uint32_t above = *rc::gen::inRange<uint32_t>(1, std::numeric_limits<uint32_t>::max() - cap)
                              .as("rounds above the cap");
  KeybagLimits limits;
  (tag == "ITER" ? limits.max_iterations : limits.max_dp_iterations) = cap;
  auto with_rounds = [&](uint32_t rounds) {
    std::vector<KeybagRecord> records = b.records;
    for (KeybagRecord& r : records) {
      if (r.tag != tag) continue;
      r.value.clear();
      append_be(r.value, rounds);
    }
    return parse_keybag(write_records(records), limits);
  };
  auto at_cap = with_rounds(cap);
  RC_ASSERT(at_cap.ok());
  RC_ASSERT((tag == "ITER" ? at_cap->iterations : at_cap->dp_iterations) == cap);
  auto past = with_rounds(cap + above);
  RC_ASSERT(!past.ok());
  RC_ASSERT(past.status().code() == Code::kResourceExhausted);
  RC_ASSERT(mentions(past.status(), "'" + tag + "'"));
  RC_ASSERT(mentions(past.status(), std::to_string(cap + above) + " rounds"));
  auto zero = with_rounds(0);
  RC_ASSERT(!zero.ok());
  RC_ASSERT(zero.status().code() == Code::kCorruption);
}

RC_GTEST_PROP(Keybag, OneRecordPastTheRecordCapIsRefused, ()) {
  const RealBag b = real_bag();
  const size_t n = b.records.size();
  const size_t cap = *rc::gen::inRange<size_t>(1, n + 3).as("record cap");
  KeybagLimits limits;
  limits.max_records = cap;
  auto parsed = parse_keybag(b.bytes, limits);
  if (cap >= n) {
    RC_ASSERT(parsed.ok());
  } else {
    RC_ASSERT(!parsed.ok());
    RC_ASSERT(parsed.status().code() == Code::kResourceExhausted);
    RC_ASSERT(mentions(parsed.status(), "more than " + std::to_string(cap) + " records"));
  }
  // The boundary itself, every time: exactly n records pass a cap of n, not a cap of n - 1.
  limits.max_records = n;
  RC_ASSERT(parse_keybag(b.bytes, limits).ok());
  limits.max_records = n - 1;
  auto one_past = parse_keybag(b.bytes, limits);
  RC_ASSERT(!one_past.ok());
  RC_ASSERT(one_past.status().code() == Code::kResourceExhausted);
}

}  // namespace
}  // namespace kcb
