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
//     the error kind and a message naming the record; so is every structural variant (a known
//     record twice, a class record in the header or a header record in a class group, a required
//     record missing, part of the double protection, one CLAS defined twice, WRAP 0 or above 3, a
//     tag with a control byte, one class group past the cap), while an unknown record is kept.
//   - item: a decoded item's known attributes have the kinds formats.md gives them (acct and svce
//     a string or data), flags are 0 or 1, pdmn is a known code, pdmn and v_Data are required.
//   - property lists: a binary dictionary with a repeated key is refused and one with distinct keys
//     (UTF-16 keys that share low bytes included) is not; an XML reference to NUL is refused in any
//     spelling; empty <dict/> and <array/> elements do not nest; a trailer whose root is not an
//     object is refused.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <limits>
#include <map>
#include <set>

#include "engine/binary_plist_writer.h"
#include "engine/blob.h"
#include "engine/keybag.h"
#include "input/property_list.h"
#include "kcbackup/der.h"
#include "kcbackup/item.h"
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
      Bytes value;
      append_be(value, rounds);
      r.value = value;
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

// A structural change to a real bag, and what the parser must answer.
enum class BagEdit {
  kHeaderRecordTwice,
  kClassRecordTwice,
  kClassRecordInHeader,
  kHeaderRecordInClassGroup,
  kHeaderRecordMissing,
  kClassRecordMissing,
  kPartOfDoubleProtection,
  kClassGroupTwice,
  kWrapOutOfRange,
  kControlByteInTag,
  kUnknownRecordKept,
  kOneGroupPastTheClassCap,
};

size_t first_class_record(const RealBag& b) {
  return b.bag.header_records.size();
}

// Index of the first record with `tag` at or after `from` (and before `to`).
std::optional<size_t> find_tag(const std::vector<KeybagRecord>& records, std::string_view tag,
                               size_t from, size_t to) {
  for (size_t i = from; i < to && i < records.size(); ++i)
    if (records[i].tag == tag) return i;
  return std::nullopt;
}

KeybagRecord u32_record(std::string tag, uint32_t v) {
  Bytes value;
  append_be(value, v);
  return KeybagRecord{std::move(tag), value, 0};
}

RC_GTEST_PROP(Keybag, AStructuralVariantIsRefusedNamingWhatIsWrong, ()) {
  const RealBag b = real_bag();
  const BagEdit edit =
      *rc::gen::element(BagEdit::kHeaderRecordTwice, BagEdit::kClassRecordTwice,
                        BagEdit::kClassRecordInHeader, BagEdit::kHeaderRecordInClassGroup,
                        BagEdit::kHeaderRecordMissing, BagEdit::kClassRecordMissing,
                        BagEdit::kPartOfDoubleProtection, BagEdit::kClassGroupTwice,
                        BagEdit::kWrapOutOfRange, BagEdit::kControlByteInTag,
                        BagEdit::kUnknownRecordKept, BagEdit::kOneGroupPastTheClassCap)
           .as("edit");
  std::vector<KeybagRecord> records = b.records;
  const size_t header_end = first_class_record(b);
  const KeybagClass& group = *rc::gen::elementOf(b.bag.classes).as("class group");
  // The group's records in the flat list: its UUID is the first record with its offset.
  size_t g = header_end;
  while (records[g].offset != group.offset)
    ++g;
  const size_t g_end = g + group.records.size();
  KeybagLimits limits;
  Code want = Code::kCorruption;
  std::string words;
  switch (edit) {
    case BagEdit::kHeaderRecordTwice: {
      std::vector<std::string> tags{"VERS", "TYPE", "HMCK", "WRAP", "SALT", "ITER"};
      if (b.bag.double_protection) tags.insert(tags.end(), {"DPWT", "DPIC", "DPSL"});
      const std::string tag = *rc::gen::elementOf(tags).as("header record given twice");
      const size_t at = *find_tag(records, tag, 0, header_end);
      records.insert(records.begin() + static_cast<long>(at) + 1, records[at]);
      words = "duplicate";
      break;
    }
    case BagEdit::kClassRecordTwice: {
      const std::string tag =
          *rc::gen::element<std::string>("CLAS", "WRAP", "KTYP", "WPKY").as("class record twice");
      const size_t at = *find_tag(records, tag, g, g_end);
      records.insert(records.begin() + static_cast<long>(at) + 1, records[at]);
      words = "duplicate";
      break;
    }
    case BagEdit::kClassRecordInHeader: {
      const std::string tag =
          *rc::gen::element<std::string>("CLAS", "KTYP", "WPKY").as("class record in the header");
      const KeybagRecord moved = records[*find_tag(records, tag, g, g_end)];
      const size_t at = *rc::gen::inRange<size_t>(1, header_end + 1).as("header position");
      records.insert(records.begin() + static_cast<long>(at), moved);
      words = "before any class UUID";
      break;
    }
    case BagEdit::kHeaderRecordInClassGroup: {
      std::vector<std::string> tags{"VERS", "TYPE", "HMCK", "SALT", "ITER"};
      if (b.bag.double_protection) tags.insert(tags.end(), {"DPWT", "DPIC", "DPSL"});
      const std::string tag = *rc::gen::elementOf(tags).as("header record in a class group");
      const KeybagRecord copy = records[*find_tag(records, tag, 0, header_end)];
      const size_t at = *rc::gen::inRange<size_t>(g + 1, g_end + 1).as("group position");
      records.insert(records.begin() + static_cast<long>(at), copy);
      words = "header record inside the class group";
      break;
    }
    case BagEdit::kHeaderRecordMissing: {
      const std::string tag = *rc::gen::element<std::string>("VERS", "TYPE", "WRAP", "SALT", "ITER")
                                   .as("header record dropped");
      records.erase(records.begin() + static_cast<long>(*find_tag(records, tag, 0, header_end)));
      words = "header has no '" + tag + "'";
      break;
    }
    case BagEdit::kClassRecordMissing: {
      const std::string tag =
          *rc::gen::element<std::string>("CLAS", "WRAP", "WPKY").as("class record dropped");
      records.erase(records.begin() + static_cast<long>(*find_tag(records, tag, g, g_end)));
      words = "no '" + tag + "' record";
      break;
    }
    case BagEdit::kPartOfDoubleProtection: {
      if (b.bag.double_protection) {
        const std::string tag =
            *rc::gen::element<std::string>("DPWT", "DPIC", "DPSL").as("DP record dropped");
        records.erase(records.begin() + static_cast<long>(*find_tag(records, tag, 0, header_end)));
      } else {
        const size_t at = *find_tag(records, "ITER", 0, header_end) + 1;
        records.insert(records.begin() + static_cast<long>(at), u32_record("DPWT", 1));
        if (*rc::gen::arbitrary<bool>().as("DPIC too"))
          records.insert(records.begin() + static_cast<long>(at) + 1, u32_record("DPIC", 3));
      }
      words = "only some of 'DPWT', 'DPIC', 'DPSL'";
      break;
    }
    case BagEdit::kClassGroupTwice: {
      const std::vector<KeybagRecord> again(records.begin() + static_cast<long>(g),
                                            records.begin() + static_cast<long>(g_end));
      records.insert(records.end(), again.begin(), again.end());
      words = "CLAS " + std::to_string(group.class_number) + " already defined";
      break;
    }
    case BagEdit::kWrapOutOfRange: {
      const uint32_t wrap =
          *rc::gen::weightedOneOf<uint32_t>({{2, rc::gen::just(0u)}, {1, rc::gen::inRange(4u, 9u)}})
               .as("WRAP");
      records[*find_tag(records, "WRAP", g, g_end)] = u32_record("WRAP", wrap);
      want = Code::kUnsupported;
      words = "WRAP " + std::to_string(wrap) + " is not 1, 2 or 3";
      break;
    }
    case BagEdit::kControlByteInTag: {
      KeybagRecord junk{"ZZZZ", Bytes{1, 2, 3}, 0};
      const size_t pos = *rc::gen::inRange<size_t>(0, 4).as("control byte position");
      junk.tag[pos] = static_cast<char>(*rc::gen::inRange<int>(0, 0x20).as("control byte"));
      const size_t at = *rc::gen::inRange<size_t>(1, records.size() + 1).as("position");
      records.insert(records.begin() + static_cast<long>(at), junk);
      words = "is not 4 ASCII characters";
      break;
    }
    case BagEdit::kUnknownRecordKept: {
      const size_t at = *rc::gen::inRange<size_t>(1, records.size() + 1).as("position");
      records.insert(records.begin() + static_cast<long>(at), KeybagRecord{"ZZZZ", Bytes{7}, 0});
      auto parsed = parse_keybag(write_records(records));
      RC_ASSERT(parsed.ok());
      RC_ASSERT(parsed->classes.size() == b.bag.classes.size());
      return;
    }
    case BagEdit::kOneGroupPastTheClassCap: {
      limits.max_classes = b.bag.classes.size();
      RC_ASSERT(parse_keybag(b.bytes, limits).ok());
      limits.max_classes = b.bag.classes.size() - 1;
      want = Code::kResourceExhausted;
      words = "more than " + std::to_string(limits.max_classes) + " class groups";
      break;
    }
  }
  auto parsed = parse_keybag(write_records(records), limits);
  RC_LOG() << "edit " << static_cast<int>(edit) << ", class group at " << group.offset << ": "
           << parsed.status().to_string() << "\n";
  RC_ASSERT(!parsed.ok());
  RC_ASSERT(parsed.status().code() == want);
  RC_ASSERT(mentions(parsed.status(), words));
}

// ---- item ----

// The DER kinds formats.md gives each known attribute (acct and svce: a string or data).
const std::map<std::string, std::set<DerKind>>& attribute_kinds() {
  static const std::map<std::string, std::set<DerKind>> kKinds = {
      {"pdmn", {DerKind::kString}},
      {"sync", {DerKind::kInteger}},
      {"sysb", {DerKind::kInteger}},
      {"clip", {DerKind::kInteger}},
      {"tomb", {DerKind::kInteger}},
      {"tkid", {DerKind::kString}},
      {"agrp", {DerKind::kString}},
      {"labl", {DerKind::kString}},
      {"srvr", {DerKind::kString}},
      {"path", {DerKind::kString}},
      {"ptcl", {DerKind::kInteger}},
      {"port", {DerKind::kInteger}},
      {"acct", {DerKind::kString, DerKind::kData}},
      {"svce", {DerKind::kString, DerKind::kData}},
      {"cdat", {DerKind::kDate}},
      {"mdat", {DerKind::kDate}},
      {"accc", {DerKind::kData}},
      {"v_Data", {DerKind::kData}},
  };
  return kKinds;
}

DerValue value_of_kind(DerKind k) {
  switch (k) {
    case DerKind::kNull:
      return DerValue::Null();
    case DerKind::kBoolean:
      return DerValue::Boolean(true);
    case DerKind::kInteger:
      return DerValue::Integer(1);
    case DerKind::kString:
      return DerValue::String("ak");
    case DerKind::kData:
      return DerValue::Data(Bytes{'a', 'k'});
    case DerKind::kDate:
      return DerValue::Date(DerDate{0});
    case DerKind::kArray:
      return DerValue::Array({});
    case DerKind::kDictionary:
      return DerValue::Dictionary(DerDict());
  }
  return DerValue::Null();
}

// A valid item's dictionary, as the engine writes it.
DerDict valid_item_dictionary() {
  const Traits t = *props::gen_addable_traits(true).as("traits");
  Item item(t.item_class, t.accessible, SecretBytes(as_bytes(std::string("secret"))));
  item.set_synchronizable(t.synchronizable);
  item.set_app_clip(t.app_clip);
  item.set_tombstone(t.tombstone);
  RC_ASSERT(item.set_account("acct-1").ok());
  RC_ASSERT(item.set_service("svc").ok());
  item.set_label("label");
  item.set_creation_date(DerDate{1'000});
  item.set_modification_date(DerDate{2'000});
  auto der = item.encode();
  RC_ASSERT(der.ok());
  auto dict = decode_der_dictionary(der->view());
  RC_ASSERT(dict.ok());
  return std::move(dict).value();
}

Result<Item> decode_dictionary(const DerDict& dict, ItemClass c) {
  Bytes der;
  KCB_RETURN_IF_ERROR(encode_der_dictionary(dict, &der));
  return Item::decode(c, der);
}

RC_GTEST_PROP(Item, EveryKnownAttributeHasItsKindAndRange, ()) {
  DerDict dict = valid_item_dictionary();
  const ItemClass c = *props::gen_item_class().as("class");
  RC_ASSERT(decode_dictionary(dict, c).ok());
  const auto& kinds = attribute_kinds();
  std::vector<std::string> names;
  for (const auto& [name, _] : kinds)
    names.push_back(name);
  const std::string name = *rc::gen::elementOf(names).as("attribute");
  const std::set<DerKind>& allowed = kinds.at(name);
  const DerKind kind =
      *rc::gen::element(DerKind::kNull, DerKind::kBoolean, DerKind::kInteger, DerKind::kString,
                        DerKind::kData, DerKind::kDate, DerKind::kArray, DerKind::kDictionary)
           .as("kind given");
  const bool is_flag = name == "sync" || name == "clip" || name == "tomb";
  if (!allowed.count(kind)) {
    dict.set(name, value_of_kind(kind));
    auto decoded = decode_dictionary(dict, c);
    RC_ASSERT(!decoded.ok());
    RC_ASSERT(decoded.status().code() == Code::kCorruption);
    RC_ASSERT(mentions(decoded.status(), "'" + name + "'"));
    return;
  }
  if (is_flag) {
    const int64_t v = *rc::gen::weightedOneOf<int64_t>({{2, rc::gen::element<int64_t>(0, 1)},
                                                        {2, rc::gen::element<int64_t>(-1, 2, 255)},
                                                        {1, rc::gen::arbitrary<int64_t>()}})
                           .as("flag value");
    dict.set(name, DerValue::Integer(v));
    auto decoded = decode_dictionary(dict, c);
    if (v == 0 || v == 1) {
      RC_ASSERT(decoded.ok());
    } else {
      RC_ASSERT(!decoded.ok());
      RC_ASSERT(mentions(decoded.status(), "expected 0 or 1"));
    }
    return;
  }
  if (name == "pdmn") {
    const std::string code =
        *rc::gen::element<std::string>("", "a", "akp", "akpuu", "AK", "dku ", "ck\x01")
             .as("unknown pdmn");
    dict.set(name, DerValue::String(code));
    auto decoded = decode_dictionary(dict, c);
    RC_ASSERT(!decoded.ok());
    RC_ASSERT(mentions(decoded.status(), "unknown protection class"));
    return;
  }
  if (name == "acct" || name == "svce") {
    const Bytes raw = *rc::gen::container<Bytes>(rc::gen::arbitrary<uint8_t>()).as("raw bytes");
    dict.set(name, DerValue::Data(raw));
    auto decoded = decode_dictionary(dict, c);
    RC_ASSERT(decoded.ok());
    const ByteView got = name == "acct" ? decoded->account() : decoded->service();
    RC_ASSERT(Bytes(got.begin(), got.end()) == raw);
    return;
  }
  // Required: pdmn and v_Data; every other attribute may be absent.
  dict.erase(name);
  auto decoded = decode_dictionary(dict, c);
  if (name == "v_Data") {
    RC_ASSERT(!decoded.ok());
    RC_ASSERT(mentions(decoded.status(), "missing"));
  } else {
    RC_ASSERT(decoded.ok());
  }
}

// ---- property lists ----

// Keys as code points, so that a sibling can share every UTF-16 code unit's low byte.
rc::Gen<std::vector<uint32_t>> gen_key_code_points() {
  return rc::gen::container<std::vector<uint32_t>>(
      rc::gen::weightedOneOf<uint32_t>({{3, rc::gen::inRange<uint32_t>(0x21, 0x7F)},
                                        {1, rc::gen::inRange<uint32_t>(0x100, 0x800)},
                                        {1, rc::gen::inRange<uint32_t>(0x4E00, 0x9FB0)}}));
}

// Each code point at or above U+0100 moved by 0x100: the same low bytes in UTF-16, another key.
std::vector<uint32_t> sibling_of(std::vector<uint32_t> key) {
  for (uint32_t& cp : key)
    if (cp >= 0x100) cp += 0x100;
  return key;
}

Bytes binary_dict(const std::vector<std::string>& keys) {
  BinaryPlistWriter w;
  std::vector<std::pair<BinaryPlistWriter::Ref, BinaryPlistWriter::Ref>> entries;
  for (size_t i = 0; i < keys.size(); ++i)
    entries.emplace_back(w.string(keys[i]), w.integer(static_cast<int64_t>(i)));
  return w.finish(w.dict(entries));
}

RC_GTEST_PROP(Plist, ABinaryDictionaryIsRefusedExactlyWhenAKeyRepeats, ()) {
  auto points =
      *rc::gen::container<std::vector<std::vector<uint32_t>>>(gen_key_code_points()).as("keys");
  // Now and then a key's sibling too: distinct text, the same UTF-16 low bytes.
  std::vector<std::vector<uint32_t>> with_siblings;
  for (const auto& k : points) {
    with_siblings.push_back(k);
    if (k != sibling_of(k)) with_siblings.push_back(sibling_of(k));
  }
  std::set<std::string> distinct;
  std::vector<std::string> keys;
  for (const auto& k : with_siblings) {
    const std::string text = props::utf8_of(k);
    if (distinct.insert(text).second) keys.push_back(text);
  }
  auto parsed = parse_plist(binary_dict(keys), "dict");
  if (!parsed.ok()) RC_FAIL("distinct keys refused: " + parsed.status().to_string());
  size_t entries = 0;
  RC_ASSERT(for_each_plist_entry(parsed->get(), "dict", [&](std::string_view key, plist_t) {
              ++entries;
              return distinct.count(std::string(key)) ? Status::Ok()
                                                      : Status::Corruption("a key changed");
            }).ok());
  RC_ASSERT(entries == keys.size());
  if (keys.empty()) return;
  const size_t again = *rc::gen::inRange<size_t>(0, keys.size()).as("key given twice");
  std::vector<std::string> repeated = keys;
  repeated.insert(
      repeated.begin() + static_cast<long>(*rc::gen::inRange<size_t>(0, keys.size() + 1).as("at")),
      keys[again]);
  auto twice = parse_plist(binary_dict(repeated), "dict");
  RC_ASSERT(!twice.ok());
  RC_ASSERT(twice.status().code() == Code::kCorruption);
  RC_ASSERT(mentions(twice.status(), "appears twice"));
}

std::string xml_plist(const std::string& body) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<plist version=\"1.0\">\n" + body +
         "\n</plist>\n";
}

RC_GTEST_PROP(Plist, AnXmlReferenceToNulIsRefusedInEverySpelling, ()) {
  const bool hex = *rc::gen::arbitrary<bool>().as("hex");
  const std::string zeros(*rc::gen::inRange<size_t>(1, 5).as("zeros"), '0');
  const std::string x = *rc::gen::element<std::string>("x", "X").as("x");
  const std::string nul = "&#" + (hex ? x : "") + zeros + ";";
  const std::string where =
      *rc::gen::element<std::string>("key", "string").as("element with the reference");
  const std::string body = where == "key"
                               ? "<dict><key>a" + nul + "</key><string>v</string></dict>"
                               : "<dict><key>k</key><string>a" + nul + "b</string></dict>";
  const std::string text = xml_plist(body);
  auto parsed = parse_plist(as_bytes(text), "x.plist");
  RC_ASSERT(!parsed.ok());
  RC_ASSERT(mentions(parsed.status(), "character reference to NUL"));
  // The same reference to 'A' is an ordinary character.
  std::string a = body;
  a.replace(a.find(nul), nul.size(), hex ? "&#" + x + "41;" : "&#65;");
  RC_ASSERT(parse_plist(as_bytes(xml_plist(a)), "x.plist").ok());
}

RC_GTEST_PROP(Plist, EmptyXmlContainersDoNotNest, ()) {
  const size_t n = *rc::gen::inRange<size_t>(0, 64).as("empty elements");
  std::string body = "<array>";
  for (size_t i = 0; i < n; ++i)
    body += *rc::gen::element<std::string>("<dict/>", "<array/>").as("empty element");
  body += "</array>";
  auto parsed = parse_plist(as_bytes(xml_plist(body)), "x.plist");
  if (!parsed.ok()) RC_FAIL(parsed.status().to_string());
  // And real nesting past the cap is refused.
  const size_t depth = *rc::gen::inRange<size_t>(17, 40).as("depth");
  std::string deep;
  for (size_t i = 0; i < depth; ++i)
    deep += "<array>";
  for (size_t i = 0; i < depth; ++i)
    deep += "</array>";
  auto refused = parse_plist(as_bytes(xml_plist(deep)), "x.plist");
  RC_ASSERT(!refused.ok());
  RC_ASSERT(refused.status().code() == Code::kResourceExhausted);
}

RC_GTEST_PROP(Plist, ATrailerWhoseRootIsNoObjectIsRefused, ()) {
  const auto keys = *rc::gen::container<std::vector<std::string>>(
                         rc::gen::map(gen_key_code_points(), props::utf8_of))
                         .as("keys");
  const std::set<std::string> unique(keys.begin(), keys.end());
  Bytes bytes = binary_dict(std::vector<std::string>(unique.begin(), unique.end()));
  RC_ASSERT(parse_plist(bytes, "p").ok());
  const size_t t = bytes.size() - 32;
  uint64_t count = 0;
  for (int i = 0; i < 8; ++i)
    count = (count << 8) | bytes[t + 8 + i];
  const uint64_t root = count + *rc::gen::inRange<uint64_t>(0, 3).as("past the last object");
  for (int i = 0; i < 8; ++i)
    bytes[t + 16 + i] = static_cast<uint8_t>(root >> (8 * (7 - i)));
  auto parsed = parse_plist(bytes, "p");
  RC_ASSERT(!parsed.ok());
  RC_ASSERT(mentions(parsed.status(), "bad trailer"));
}

}  // namespace
}  // namespace kcb
