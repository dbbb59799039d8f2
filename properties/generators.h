// RapidCheck generators for the property suites: one generator per domain type (testing.md).
// Every value a suite needs is drawn here, so a suite reads as "for all X, Y: claim". Generators
// only build values: they never touch a device. Items carry unique account names within a batch
// ("item-<index>-<tag>"), used as the label too (cert and keys are unique by label), because two
// items with one primary key are a duplicate add, not two items.
#pragma once

#include <rapidcheck.h>
#include <rapidcheck/detail/BitStream.h>
#include <rapidcheck/gen/detail/ScaleInteger.h>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <ostream>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "engine/keybag.h"
#include "kcbackup/backup_folder.h"
#include "kcbackup/bytes.h"
#include "kcbackup/der.h"
#include "kcbackup/device.h"
#include "kcbackup/journey.h"
#include "kcbackup/model.h"
#include "kcbackup/names.h"
#include "kcbackup/oracle.h"

namespace kcb {

// How counterexamples print the vocabulary: its canonical names (found by argument lookup).
inline void showValue(Accessibility a, std::ostream& os) {
  os << names_of(a).name;
}
inline void showValue(ItemClass c, std::ostream& os) {
  os << name_of(c);
}
inline void showValue(Journey j, std::ostream& os) {
  os << name_of(j);
}
inline void showValue(Target t, std::ostream& os) {
  os << name_of(t);
}
inline void showValue(Switch s, std::ostream& os) {
  os << name_of(s);
}
inline void showValue(const Traits& t, std::ostream& os) {
  os << "{" << names_of(t.accessible).pdmn << " " << name_of(t.item_class)
     << (t.synchronizable ? " sync" : "") << (t.token == Token::kSecureEnclave ? " token" : "")
     << (t.auth_constraint ? " auth" : "") << (t.system_bound != SystemBound::kNone ? " sysb" : "")
     << (t.app_clip ? " clip" : "") << (t.tombstone ? " tomb" : "") << "}";
}
inline void showValue(const DerValue& v, std::ostream& os) {
  auto bytes = encode_der(v);
  os << der_kind_name(v.kind()) << " " << (bytes.ok() ? to_hex(*bytes) : "<unencodable>");
}
inline void showValue(const DeviceSettings& s, std::ostream& os) {
  os << "{passcode " << (s.passcode ? "on" : "off") << ", icloud-keychain "
     << name_of(s.icloud_keychain) << ", refs " << name_of(s.persistent_refs) << " -> "
     << name_of(s.target_persistent_refs) << ", sos " << (s.sos ? "on" : "off") << "}";
}

}  // namespace kcb

namespace kcb::props {

// The harness's item spec, the value every batch generator draws.
using harness::ItemSpec;
using harness::new_item_of;

inline rc::Gen<Accessibility> gen_accessibility() {
  return rc::gen::elementOf(
      std::vector(std::begin(kAllAccessibilities), std::end(kAllAccessibilities)));
}

inline rc::Gen<ItemClass> gen_item_class() {
  return rc::gen::elementOf(std::vector(std::begin(kAllItemClasses), std::end(kAllItemClasses)));
}

inline rc::Gen<Journey> gen_journey() {
  return rc::gen::elementOf(std::vector(std::begin(kAllJourneys), std::end(kAllJourneys)));
}

// The journeys that produce a backup bundle (make_backup accepts them as a backup).
inline rc::Gen<Journey> gen_backup_journey() {
  return rc::gen::element(Journey::kLocal, Journey::kLocalEncrypted, Journey::kIcloudBackup);
}

// A target the journey has: quick-start and icloud-keychain only go to another device.
inline rc::Gen<Target> gen_target_for(Journey j) {
  if (!has_same_device_form(j)) return rc::gen::just(Target::kOtherDevice);
  return rc::gen::elementOf(std::vector(std::begin(kAllTargets), std::end(kAllTargets)));
}

// Several values drawn in one generator call from one rc::Random, its numbers taken in turn.
// RapidCheck's combinators (apply, weightedOneOf, elementOf, container) give every field its own
// generator, random split and shrink tree: in the agreement property that was a sixth of a case's
// CPU time (session 19). The generators below draw the same distributions this way (elementOf and
// the choice of weightedOneOf are uniform by weight at every size; inRange and integral scale
// with the size, as in_range and nextWithSize do here). They shrink at least as far as those
// combinators did: containers and integers as RapidCheck shrinks them, and also the choices that
// elementOf and weightedOneOf never shrink (an enum towards the first of its table, a weighted
// flag towards its common value), so a counterexample comes out simpler than before.
class Draws {
 public:
  explicit Draws(const rc::Random& random) : random_(random) {}
  uint64_t below(uint64_t n) { return random_.next() % n; }  // uniform enough for n << 2^64
  bool one_in(uint64_t n) { return below(n) == 0; }
  // As rc::gen::inRange(first, end) draws at `size`: from the first size/100 of the range (so
  // small sizes give values near `first`), uniformly.
  uint64_t in_range(uint64_t first, uint64_t end, int size) {
    return first + below(rc::gen::detail::scaleInteger(end - first - 1, size) + 1);
  }

 private:
  rc::Random random_;
};

// Where `value` is in `all` (a kAll... table): fields are drawn and shrunk by their index.
template <typename T, size_t N>
size_t index_in(const T (&all)[N], T value) {
  return static_cast<size_t>(std::find(std::begin(all), std::end(all), value) - std::begin(all));
}

// The one-step shrinks of a record, each a copy of it with one field changed, in the order added.
template <typename Record>
class FieldShrinks {
 public:
  explicit FieldShrinks(const Record& base) : base_(base) {}

  // A copy with `field` set to `value`, when the field holds anything else.
  template <typename V>
  void to(V Record::*field, V value) {
    if (base_.*field == value) return;
    Record s = base_;
    s.*field = value;
    out_.push_back(std::move(s));
  }

  // A copy per value the field shrinks to: its index in `all` towards 0, as inRange shrinks
  // (elementOf never shrinks its choice).
  template <typename V, size_t N>
  void towards_first(V Record::*field, const V (&all)[N]) {
    auto indices = rc::shrink::towards<size_t>(index_in(all, base_.*field), 0);
    while (auto i = indices.next())
      to(field, all[*i]);
  }

  rc::Seq<Record> done() && { return rc::seq::fromContainer(std::move(out_)); }

 private:
  const Record& base_;
  std::vector<Record> out_;
};

// Every combination of accessibility x class x sync x token x auth (x system-bound, rarely),
// addable or not, then now and then an App Clip's item (R10) or a tombstone (R15): suites that need
// an addable item filter with oracle::check_add or accept the add error. A token, an auth
// constraint and a system binding each come one time in 4, 4 and 8; with extras, an App Clip one
// time in 6 and a tombstone one time in 8.
inline Traits draw_traits(Draws& d, bool extras) {
  Traits t;
  t.accessible = kAllAccessibilities[d.below(std::size(kAllAccessibilities))];
  t.item_class = kAllItemClasses[d.below(std::size(kAllItemClasses))];
  t.synchronizable = d.one_in(2);
  t.token = d.one_in(4) ? Token::kSecureEnclave : Token::kNone;
  t.auth_constraint = d.one_in(4);
  t.system_bound = d.one_in(8) ? SystemBound::kPreserveDuringRestore : SystemBound::kNone;
  if (extras) {
    t.app_clip = d.one_in(6);
    t.tombstone = d.one_in(8);
  }
  return t;
}

// Field by field, in declaration order: an enum towards the first of its table, a flag or a token
// or a binding towards none.
inline rc::Seq<Traits> shrink_traits(const Traits& t) {
  FieldShrinks<Traits> out(t);
  out.towards_first(&Traits::accessible, kAllAccessibilities);
  out.towards_first(&Traits::item_class, kAllItemClasses);
  out.to(&Traits::synchronizable, false);
  out.to(&Traits::token, Token::kNone);
  out.to(&Traits::auth_constraint, false);
  out.to(&Traits::system_bound, SystemBound::kNone);
  out.to(&Traits::app_clip, false);
  out.to(&Traits::tombstone, false);
  return std::move(out).done();
}

inline rc::Gen<Traits> gen_traits_with(bool extras) {
  return [extras](const rc::Random& random, int) {
    Draws d(random);
    return rc::shrinkable::shrinkRecur(draw_traits(d, extras), &shrink_traits);
  };
}

// Never an App Clip's item or a tombstone.
inline rc::Gen<Traits> gen_base_traits() {
  return gen_traits_with(false);
}

inline rc::Gen<Traits> gen_traits() {
  return gen_traits_with(true);
}

// Traits SecItemAdd accepts on a device with or without a passcode (R8/R9 by the oracle).
inline rc::Gen<Traits> gen_addable_traits(bool passcode) {
  return rc::gen::suchThat(gen_traits(), [passcode](const Traits& t) {
    return oracle::check_add(t, passcode) == AddError::kNone;
  });
}

inline rc::Gen<PersistentRefKind> gen_persistent_ref_kind() {
  return rc::gen::elementOf(
      std::vector(std::begin(kAllPersistentRefKinds), std::end(kAllPersistentRefKinds)));
}

// The iCloud Keychain switch's values, drawn uniformly; a setting shrinks towards the first.
inline constexpr Switch kSwitchesInShrinkOrder[] = {Switch::kOff, Switch::kOn,
                                                    Switch::kUnspecified};

// Passcode (on 3 times in 4), iCloud Keychain (off, on or unspecified), the source's and the
// target's kinds of persistent reference (R11) and the source's SOS setting (R15). Shrinks
// towards passcode on, iCloud Keychain off, old-style references and no SOS.
inline DeviceSettings draw_settings(Draws& d) {
  DeviceSettings s;
  s.passcode = !d.one_in(4);
  s.icloud_keychain = kSwitchesInShrinkOrder[d.below(std::size(kSwitchesInShrinkOrder))];
  s.persistent_refs = kAllPersistentRefKinds[d.below(std::size(kAllPersistentRefKinds))];
  s.target_persistent_refs = kAllPersistentRefKinds[d.below(std::size(kAllPersistentRefKinds))];
  s.sos = d.one_in(2);
  return s;
}

inline rc::Seq<DeviceSettings> shrink_settings(const DeviceSettings& s) {
  FieldShrinks<DeviceSettings> out(s);
  out.to(&DeviceSettings::passcode, true);
  out.towards_first(&DeviceSettings::icloud_keychain, kSwitchesInShrinkOrder);
  out.towards_first(&DeviceSettings::persistent_refs, kAllPersistentRefKinds);
  out.towards_first(&DeviceSettings::target_persistent_refs, kAllPersistentRefKinds);
  out.to(&DeviceSettings::sos, false);
  return std::move(out).done();
}

inline rc::Gen<DeviceSettings> gen_settings() {
  return [](const rc::Random& random, int) {
    Draws d(random);
    return rc::shrinkable::shrinkRecur(draw_settings(d), &shrink_settings);
  };
}

// UTF-8 text from code points of several scripts (ASCII, Latin-1, Greek, CJK, emoji); never a
// surrogate, so always valid UTF-8.
inline std::string utf8_of(const std::vector<uint32_t>& code_points) {
  std::string out;
  for (uint32_t cp : code_points) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  return out;
}

// The code points text is drawn from, weighted: printable ASCII 6, controls 1, Latin-1 2, Greek 1,
// CJK 1, emoji 1 (of 12).
struct CodePointRange {
  uint32_t first, end;  // [first, end)
  uint64_t weight;
};
inline constexpr CodePointRange kCodePointRanges[] = {
    {0x20, 0x7F, 6},   {0x1, 0x20, 1},      {0xA0, 0x100, 2},
    {0x391, 0x3CA, 1}, {0x4E00, 0x9FB0, 1}, {0x1F600, 0x1F650, 1},
};

// The range by weight (weightedOneOf's choice does not depend on the size), the code point in it as
// inRange draws it.
inline uint32_t draw_code_point(Draws& d, int size) {
  uint64_t w = d.below(12);
  for (const CodePointRange& r : kCodePointRanges) {
    if (w < r.weight) return static_cast<uint32_t>(d.in_range(r.first, r.end, size));
    w -= r.weight;
  }
  return 0x20;  // unreachable: the weights add up to 12
}

inline bool is_drawn_code_point(uint32_t cp) {
  return std::any_of(std::begin(kCodePointRanges), std::end(kCodePointRanges),
                     [cp](const CodePointRange& r) { return cp >= r.first && cp < r.end; });
}

// Towards a space, only through code points the generator draws (so never a surrogate or NUL).
inline rc::Seq<uint32_t> shrink_code_point(uint32_t cp) {
  return rc::seq::filter(rc::shrink::towards<uint32_t>(cp, 0x20), &is_drawn_code_point);
}

// As RapidCheck shrinks a container: chunks removed, then each element.
inline rc::Seq<std::vector<uint32_t>> shrink_code_points(const std::vector<uint32_t>& cps) {
  return rc::seq::concat(rc::shrink::removeChunks(cps),
                         rc::shrink::eachElement(cps, &shrink_code_point));
}

// Bytes drawn as rc::gen::container<Bytes>(rc::gen::arbitrary<uint8_t>()) draws them (the length
// uniformly from 0..size, each byte with as many random bits as the size allows) and shrunk as it
// shrinks them (chunks removed, then each byte towards 0), from one bit stream: not a generator,
// a random split and a shrink tree per byte, which were a tenth of an agreement case.
inline Bytes draw_bytes(const rc::Random& random, int size) {
  rc::Random r = random;
  Bytes bytes(r.split().next() % (static_cast<size_t>(size) + 1));
  auto bits = rc::detail::bitStreamOf(r);
  for (uint8_t& b : bytes)
    b = bits.nextWithSize<uint8_t>(size);
  return bytes;
}

inline rc::Seq<Bytes> shrink_bytes(const Bytes& b) {
  return rc::seq::concat(rc::shrink::removeChunks(b),
                         rc::shrink::eachElement(b, &rc::shrink::integral<uint8_t>));
}

inline rc::Gen<Bytes> gen_bytes() {
  return [](const rc::Random& random, int size) {
    return rc::shrinkable::shrinkRecur(draw_bytes(random, size), &shrink_bytes);
  };
}

// At most max_code_points code points: the length drawn as a container of the whole size draws it
// (uniformly from 0..size), then cut, and only the code points kept are drawn.
inline std::vector<uint32_t> draw_code_points(const rc::Random& random, int size,
                                              size_t max_code_points) {
  Draws d(random);
  std::vector<uint32_t> cps(
      std::min<size_t>(d.below(static_cast<uint64_t>(size) + 1), max_code_points));
  for (uint32_t& cp : cps)
    cp = draw_code_point(d, size);
  return cps;
}

// Text of at most max_code_points code points (draw_code_points).
inline rc::Gen<std::string> gen_utf8_text(size_t max_code_points) {
  return [max_code_points](const rc::Random& random, int size) {
    return rc::shrinkable::map(
        rc::shrinkable::shrinkRecur(draw_code_points(random, size, max_code_points),
                                    &shrink_code_points),
        &utf8_of);
  };
}

// 1..size printable ASCII characters other than space (0x21..0x7E), as
// nonEmpty(container(inRange(0x21, 0x7F))) draws and shrinks them.
inline rc::Gen<std::string> gen_ascii_password() {
  return [](const rc::Random& random, int size) {
    Draws d(random);
    std::vector<uint32_t> cps(1 + d.below(static_cast<uint64_t>(std::max(size, 1))));
    for (uint32_t& cp : cps)
      cp = static_cast<uint32_t>(d.in_range(0x21, 0x7F, size));
    auto shrink = [](const std::vector<uint32_t>& v) {
      return rc::seq::concat(
          rc::seq::filter(rc::shrink::removeChunks(v),
                          [](const std::vector<uint32_t>& w) { return !w.empty(); }),
          rc::shrink::eachElement(
              v, [](uint32_t cp) { return rc::shrink::towards<uint32_t>(cp, 0x21); }));
    };
    return rc::shrinkable::map(rc::shrinkable::shrinkRecur(std::move(cps), shrink), &utf8_of);
  };
}

// Years 0000..9999 at millisecond precision (der.h).
inline constexpr int64_t kMinDerDateMillis = -62167219200000;
inline constexpr int64_t kMaxDerDateMillis = 253402300799999;

inline rc::Gen<DerValue> gen_der_scalar() {
  return rc::gen::oneOf(
      rc::gen::just(DerValue::Null()), rc::gen::map(rc::gen::arbitrary<bool>(), DerValue::Boolean),
      rc::gen::map(rc::gen::arbitrary<int64_t>(), DerValue::Integer),
      rc::gen::map(gen_utf8_text(16), DerValue::String),
      rc::gen::map(rc::gen::container<Bytes>(rc::gen::arbitrary<uint8_t>()),
                   [](Bytes b) { return DerValue::Data(std::move(b)); }),
      rc::gen::map(rc::gen::inRange<int64_t>(kMinDerDateMillis, kMaxDerDateMillis + 1),
                   [](int64_t ms) { return DerValue::Date(DerDate{ms}); }));
}

// DER value trees of bounded depth (and so bounded size: containers hold at most a few elements).
inline rc::Gen<DerValue> gen_der_value(int depth) {
  if (depth == 0) return gen_der_scalar();
  auto child = rc::gen::lazy([depth] { return gen_der_value(depth - 1); });
  auto small = [](auto g) {
    return rc::gen::mapcat(rc::gen::inRange<size_t>(0, 5), [g](size_t n) {
      return rc::gen::container<std::vector<typename decltype(g)::ValueType>>(n, g);
    });
  };
  return rc::gen::weightedOneOf<DerValue>({
      {3, gen_der_scalar()},
      {1, rc::gen::map(small(child), [](DerArray a) { return DerValue::Array(std::move(a)); })},
      {1, rc::gen::map(small(rc::gen::pair(gen_utf8_text(8), child)),
                       [](const std::vector<std::pair<std::string, DerValue>>& entries) {
                         DerDict d;
                         for (const auto& [k, v] : entries)
                           d.set(k, v);
                         return DerValue::Dictionary(std::move(d));
                       })},
  });
}

// A backup password a user might choose: short ASCII, unicode, or long (up to 1 KiB). Never empty:
// an encrypted journey requires one.
inline rc::Gen<std::string> gen_password() {
  return rc::gen::weightedOneOf<std::string>({
      {4, gen_ascii_password()},
      {2, rc::gen::suchThat(gen_utf8_text(24), [](const std::string& s) { return !s.empty(); })},
      {1, rc::gen::map(rc::gen::inRange<size_t>(64, 1025),
                       [](size_t n) { return std::string(n, 'p') + "!"; })},
  });
}

// A password that is not `right`: empty, one byte changed, a prefix, an extension, or unrelated.
inline rc::Gen<std::string> gen_wrong_password(const std::string& right) {
  return rc::gen::suchThat(rc::gen::weightedOneOf<std::string>({
                               {1, rc::gen::just(std::string())},
                               {2, rc::gen::map(rc::gen::inRange<size_t>(0, right.size()),
                                                [right](size_t i) {
                                                  std::string w = right;
                                                  w[i] = static_cast<char>(w[i] ^ 0x01);
                                                  return w;
                                                })},
                               {1, rc::gen::just(right.substr(0, right.size() - 1))},
                               {1, rc::gen::just(right + "x")},
                               {1, gen_password()},
                           }),
                           [right](const std::string& w) { return w != right; });
}

// Secret bytes as drawn: empty (1 time in 8), bytes as draw_bytes draws them (6 in 8), or a large
// pattern of 1..16 KiB (1 in 8), as weightedOneOf over the three drew them. Shrunk to empty first
// (weightedOneOf never shrank its choice), then within its kind as before: bytes as containers,
// a pattern's length towards 1 KiB and its first byte towards 0.
struct DrawnSecret {
  enum class Kind : uint8_t { kEmpty, kBytes, kPattern };
  Kind kind = Kind::kEmpty;
  Bytes bytes;        // kBytes
  size_t length = 0;  // kPattern: 1024..16384 bytes,
  uint8_t first = 0;  // the first of them; each next one is 31 more
};

inline Bytes secret_of(const DrawnSecret& s) {
  if (s.kind == DrawnSecret::Kind::kBytes) return s.bytes;
  Bytes b(s.kind == DrawnSecret::Kind::kPattern ? s.length : 0);
  for (size_t i = 0; i < b.size(); ++i)
    b[i] = static_cast<uint8_t>(s.first + i * 31);
  return b;
}

inline DrawnSecret draw_secret(const rc::Random& random, int size) {
  rc::Random r = random;
  const uint64_t kind = r.split().next() % 8;
  DrawnSecret s;
  if (kind == 0) return s;
  if (kind < 7) {
    s.kind = DrawnSecret::Kind::kBytes;
    s.bytes = draw_bytes(r, size);
    return s;
  }
  // As pair(inRange<size_t>(1024, 16385), arbitrary<uint8_t>()) drew them.
  s.kind = DrawnSecret::Kind::kPattern;
  s.length = Draws(r.split()).in_range(1024, 16385, size);
  s.first = rc::detail::bitStreamOf(r).nextWithSize<uint8_t>(size);
  return s;
}

inline rc::Seq<DrawnSecret> shrink_secret(const DrawnSecret& s) {
  if (s.kind == DrawnSecret::Kind::kEmpty) return rc::Seq<DrawnSecret>();
  auto empty = rc::seq::just(DrawnSecret{});
  if (s.kind == DrawnSecret::Kind::kBytes) {
    return rc::seq::concat(std::move(empty), rc::seq::map(shrink_bytes(s.bytes), [](Bytes b) {
                             DrawnSecret t;
                             t.kind = DrawnSecret::Kind::kBytes;
                             t.bytes = std::move(b);
                             return t;
                           }));
  }
  return rc::seq::concat(std::move(empty),
                         rc::seq::map(rc::shrink::towards<size_t>(s.length, 1024),
                                      [s](size_t n) {
                                        DrawnSecret t = s;
                                        t.length = n;
                                        return t;
                                      }),
                         rc::seq::map(rc::shrink::towards<uint8_t>(s.first, 0), [s](uint8_t v) {
                           DrawnSecret t = s;
                           t.first = v;
                           return t;
                         }));
}

inline rc::Gen<Bytes> gen_secret() {
  return [](const rc::Random& random, int size) {
    return rc::shrinkable::map(
        rc::shrinkable::shrinkRecur(draw_secret(random, size), &shrink_secret), &secret_of);
  };
}

// Bytes that occur nowhere by chance: 16..64 bytes expanded from a seed and an index with
// SplitMix64, so that even a shrunk seed (0) gives distinct, non-degenerate bytes per item.
inline Bytes distinctive_bytes(uint64_t seed, uint64_t index, size_t length) {
  Bytes out;
  uint64_t x = seed ^ (0x9E3779B97F4A7C15ull * (index + 1));
  while (out.size() < length) {
    x += 0x9E3779B97F4A7C15ull;
    uint64_t z = x;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    for (int i = 0; i < 8 && out.size() < length; ++i)
      out.push_back(static_cast<uint8_t>(z >> (8 * i)));
  }
  return out;
}

}  // namespace kcb::props

// Found by argument lookup, in the namespace of the type.
namespace kcb::harness {
inline void showValue(const ItemSpec& s, std::ostream& os) {
  kcb::showValue(s.traits, os);
  os << " acct=" << s.account << " secret=" << s.secret.size() << "B";
}
}  // namespace kcb::harness

namespace kcb::props {

// One item of a batch as drawn: its traits (from the batch's traits generator, with their own
// shrinks), the code points of its account's tag and its secret.
struct DrawnItem {
  rc::Shrinkable<Traits> traits;
  std::vector<uint32_t> tag;
  DrawnSecret secret;
};

// Part by part: the traits as their generator shrinks them, then the tag, then the secret.
inline rc::Seq<DrawnItem> shrink_drawn_item(const DrawnItem& item) {
  return rc::seq::concat(rc::seq::map(item.traits.shrinks(),
                                      [item](rc::Shrinkable<Traits> t) {
                                        DrawnItem s = item;
                                        s.traits = std::move(t);
                                        return s;
                                      }),
                         rc::seq::map(shrink_code_points(item.tag),
                                      [item](std::vector<uint32_t> t) {
                                        DrawnItem s = item;
                                        s.tag = std::move(t);
                                        return s;
                                      }),
                         rc::seq::map(shrink_secret(item.secret), [item](DrawnSecret t) {
                           DrawnItem s = item;
                           s.secret = std::move(t);
                           return s;
                         }));
}

inline std::vector<ItemSpec> specs_of(const std::vector<DrawnItem>& items) {
  std::vector<ItemSpec> out;
  out.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    out.push_back({items[i].traits.value(),
                   "item-" + std::to_string(i) + "-" + utf8_of(items[i].tag),
                   secret_of(items[i].secret)});
  }
  return out;
}

// A batch of min_items..max_items items (uniformly many) with unique accounts. Accounts mix an
// index (uniqueness) with generated unicode of up to 8 code points (encoding coverage). Drawn in
// one generator call, not a container of tuples of generators (issue 17: that structure was a
// twentieth of an agreement case), and shrunk as a container: items removed (never below
// min_items), then each item part by part.
inline rc::Gen<std::vector<ItemSpec>> gen_item_batch(size_t min_items, size_t max_items,
                                                     rc::Gen<Traits> traits = gen_traits()) {
  return [min_items, max_items, traits](const rc::Random& random, int size) {
    rc::Random r = random;
    const size_t n = Draws(r.split()).in_range(min_items, max_items + 1, size);
    std::vector<DrawnItem> items;
    items.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      rc::Random item = r.split();
      rc::Shrinkable<Traits> t = traits(item.split(), size);
      std::vector<uint32_t> tag = draw_code_points(item.split(), size, 8);
      items.push_back({std::move(t), std::move(tag), draw_secret(item, size)});
    }
    auto shrink = [min_items](const std::vector<DrawnItem>& v) {
      return rc::seq::concat(rc::seq::filter(rc::shrink::removeChunks(v),
                                             [min_items](const std::vector<DrawnItem>& w) {
                                               return w.size() >= min_items;
                                             }),
                             rc::shrink::eachElement(v, &shrink_drawn_item));
    };
    return rc::shrinkable::map(rc::shrinkable::shrinkRecur(std::move(items), shrink), &specs_of);
  };
}

// A batch whose secrets are distinctive (see distinctive_bytes) and whose accounts carry a
// distinctive hex tag too, for searching files for them.
inline rc::Gen<std::vector<ItemSpec>> gen_distinctive_batch(size_t min_items, size_t max_items) {
  return rc::gen::map(
      rc::gen::pair(gen_item_batch(min_items, max_items), rc::gen::arbitrary<uint64_t>()),
      [](std::pair<std::vector<ItemSpec>, uint64_t> p) {
        for (size_t i = 0; i < p.first.size(); ++i) {
          p.first[i].secret = distinctive_bytes(p.second, i, 16 + (i * 7) % 49);
          p.first[i].account =
              "acct-" + std::to_string(i) + "-" + to_hex(distinctive_bytes(~p.second, i, 8));
        }
        return std::move(p.first);
      });
}

// A keybag's classes for create_keybag: distinct class numbers 1..13 (none, or at least one when
// non_empty), each with a WRAP of 1..3 (device layer, password layer, both); create_keybag draws
// the keys.
inline rc::Gen<std::vector<NewClassKey>> gen_keybag_classes(bool non_empty) {
  auto numbers = rc::gen::container<std::set<uint32_t>>(rc::gen::inRange<uint32_t>(1, 14));
  return rc::gen::mapcat(
      non_empty ? rc::gen::nonEmpty(numbers) : numbers, [](const std::set<uint32_t>& classes) {
        return rc::gen::map(rc::gen::container<std::vector<uint32_t>>(
                                classes.size(), rc::gen::inRange<uint32_t>(1, 4)),
                            [classes](const std::vector<uint32_t>& wraps) {
                              std::vector<NewClassKey> out;
                              size_t i = 0;
                              for (uint32_t c : classes)
                                out.push_back({c, wraps[i++], std::nullopt});
                              return out;
                            });
      });
}

// One bit flipped or the bytes cut short: the two byte mutations of the tamper suite.
struct ByteMutation {
  bool truncate = false;
  size_t offset = 0;  // reduced modulo the length of the bytes it is applied to
  uint8_t bit = 0;    // 0..7
};

inline void showValue(const ByteMutation& m, std::ostream& os) {
  os << (m.truncate ? "truncate at " : "flip bit ") << (m.truncate ? "" : std::to_string(m.bit))
     << (m.truncate ? "" : " of byte ") << m.offset;
}

inline rc::Gen<ByteMutation> gen_byte_mutation() {
  return rc::gen::apply(
      [](bool truncate, size_t offset, uint8_t bit) {
        return ByteMutation{truncate, offset, static_cast<uint8_t>(bit % 8)};
      },
      rc::gen::weightedOneOf<bool>({{3, rc::gen::just(false)}, {1, rc::gen::just(true)}}),
      rc::gen::inRange<size_t>(0, 1u << 20), rc::gen::inRange<uint8_t>(0, 8));
}

inline Bytes apply_mutation(Bytes bytes, const ByteMutation& m) {
  if (bytes.empty()) return bytes;
  const size_t at = m.offset % bytes.size();
  if (m.truncate) {
    bytes.resize(at);
  } else {
    bytes[at] ^= static_cast<uint8_t>(1u << m.bit);
  }
  return bytes;
}

// The keychain file of a backup folder, decrypted as a restore onto `device` reads it.
inline KeychainArchive keychain_of(const BackupFolder& folder, const Device& device,
                                   const std::string& password) {
  BackupOpenOptions o;
  o.password = password;
  o.device = &device;
  auto backup = OpenedBackup::open(folder, o);
  RC_ASSERT(backup.ok());
  auto archive = backup->read_keychain();
  RC_ASSERT(archive.ok());
  return std::move(archive).value();
}

// The folder with `archive` as its keychain file (sealed as the folder's own was).
inline BackupFolder with_keychain(const BackupFolder& folder, const KeychainArchive& archive,
                                  const Device& device, const std::string& password) {
  BackupOpenOptions o;
  o.password = password;
  o.device = &device;
  auto out = with_keychain_file(folder, write_keychain_archive(archive), o);
  RC_ASSERT(out.ok());
  return std::move(out).value();
}

}  // namespace kcb::props
