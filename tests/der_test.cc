// der_plist: known encodings written out by hand, round trips, and one test per strictness rule
// checking the error code and the byte offset it names.
#include "kcbackup/der.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <random>
#include <string>

namespace kcb {
namespace {

Bytes hex(std::string_view h) {
  std::string clean;
  for (char c : h) {
    if (c != ' ') clean.push_back(c);
  }
  Bytes out;
  KCB_ASSERT(from_hex(clean, &out));
  return out;
}

DerValue dict_of(std::initializer_list<std::pair<std::string, DerValue>> kv) {
  DerDict d;
  for (const auto& [k, v] : kv)
    d.set(k, v);
  return DerValue::Dictionary(std::move(d));
}

void expect_bytes(const DerValue& v, std::string_view expected_hex) {
  auto encoded = encode_der(v);
  ASSERT_TRUE(encoded.ok()) << encoded.status().to_string();
  EXPECT_EQ(to_hex(*encoded), to_hex(hex(expected_hex)));
  auto decoded = decode_der(*encoded);
  ASSERT_TRUE(decoded.ok()) << decoded.status().to_string();
  EXPECT_EQ(*decoded, v);
}

// The error's code and message, which must name the offset.
void expect_error(std::string_view bytes_hex, Code code, std::string_view message_part,
                  const DerLimits& limits = {}) {
  auto r = decode_der(hex(bytes_hex), limits);
  ASSERT_FALSE(r.ok()) << "accepted " << bytes_hex;
  EXPECT_EQ(r.status().code(), code) << r.status().to_string();
  EXPECT_NE(r.status().message().find(message_part), std::string::npos)
      << "got: " << r.status().message() << "\nwanted: " << message_part;
}

TEST(DerKnownEncoding, PdmnAndSyncSortByEncodedLengthFirst) {
  // "sync" entry (9 content bytes) sorts before "pdmn" (10) although 'p' < 's'.
  expect_bytes(dict_of({{"pdmn", DerValue::String("ak")}, {"sync", DerValue::Integer(0)}}),
               "31 17"
               "30 09 0c 04 73796e63 02 01 00"
               "30 0a 0c 04 70646d6e 0c 02 616b");
}

TEST(DerKnownEncoding, EveryType) {
  DerDict empty;
  expect_bytes(dict_of({{"bool", DerValue::Boolean(true)},
                        {"data", DerValue::Data(Bytes{1, 2})},
                        {"date", DerValue::Date(DerDate{978307200000})},
                        {"int", DerValue::Integer(-129)},
                        {"null", DerValue::Null()},
                        {"arr", DerValue::Array({DerValue::Integer(1), DerValue::String("x")})},
                        {"dict", DerValue::Dictionary(empty)}}),
               "31 5e"
               "30 08 0c 04 64696374 31 00"
               "30 08 0c 04 6e756c6c 05 00"
               "30 09 0c 03 696e74 02 02 ff7f"
               "30 09 0c 04 626f6f6c 01 01 01"
               "30 0a 0c 04 64617461 04 02 0102"
               "30 0d 0c 03 617272 30 06 02 01 01 0c 01 78"
               "30 17 0c 04 64617465 18 0f 3230303130313031303030303030 5a");
}

TEST(DerKnownEncoding, FalseAndFractionalDate) {
  expect_bytes(DerValue::Boolean(false), "01 01 00");
  // 2001-01-01T00:00:00.5Z: trailing fraction zeros are dropped.
  expect_bytes(DerValue::Date(DerDate{978307200500}), "18 11 3230303130313031303030303030 2e35 5a");
  expect_bytes(DerValue::Date(DerDate{978307200050}),
               "18 12 3230303130313031303030303030 2e3035 5a");
  expect_bytes(DerValue::Date(DerDate{-1}), "18 13 3139363931323331323335393539 2e393939 5a");
}

TEST(DerKnownEncoding, LongFormLengthSortsAfterShortForm) {
  Bytes big(200, 0xAB);
  auto encoded = encode_der(dict_of({{"a", DerValue::Data(big)}, {"b", DerValue::Integer(0)}}));
  ASSERT_TRUE(encoded.ok());
  // Set content = 8 ("b") + 3 + 3 + 3 + 200 = 217 = 0xd9; "a" entry content = 206 = 0xce.
  EXPECT_EQ(to_hex(ByteView(*encoded).first(17)),
            "3181d93006"
            "0c0162020100"
            "3081ce0c0161");
  EXPECT_EQ(encoded->size(), 3u + 217u);
}

TEST(DerKnownEncoding, Integers) {
  expect_bytes(DerValue::Integer(0), "02 01 00");
  expect_bytes(DerValue::Integer(127), "02 01 7f");
  expect_bytes(DerValue::Integer(128), "02 02 0080");
  expect_bytes(DerValue::Integer(-128), "02 01 80");
  expect_bytes(DerValue::Integer(-1), "02 01 ff");
  expect_bytes(DerValue::Integer(256), "02 02 0100");
  expect_bytes(DerValue::Integer(std::numeric_limits<int64_t>::max()), "02 08 7fffffffffffffff");
  expect_bytes(DerValue::Integer(std::numeric_limits<int64_t>::min()), "02 08 8000000000000000");
}

TEST(DerRoundTrip, NestedValues) {
  DerArray inner;
  for (int i = -300; i < 300; i += 37)
    inner.push_back(DerValue::Integer(i));
  DerValue v = dict_of({{"v_Data", DerValue::Data(Bytes(1000, 7))},
                        {"labl", DerValue::String("caf\xc3\xa9 \xf0\x9f\x94\x91")},
                        {"list", DerValue::Array(inner)},
                        {"nest", dict_of({{"x", dict_of({{"y", DerValue::Null()}})}})},
                        {"", DerValue::String("")}});
  auto bytes = encode_der(v);
  ASSERT_TRUE(bytes.ok());
  auto back = decode_der(*bytes);
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(*back, v);
  EXPECT_EQ(*encode_der(*back), *bytes);
}

TEST(DerDict, SetFindEraseKeepKeyOrder) {
  DerDict d;
  d.set("svce", DerValue::String("s"));
  d.set("acct", DerValue::String("a"));
  d.set("svce", DerValue::Integer(1));
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d.entries()[0].key, "acct");
  EXPECT_EQ(*d.find("svce"), DerValue::Integer(1));
  EXPECT_EQ(d.find("nope"), nullptr);
  EXPECT_TRUE(d.erase("acct"));
  EXPECT_FALSE(d.erase("acct"));
  DerDict e;
  e.set("svce", DerValue::Integer(1));
  EXPECT_EQ(d, e);
}

TEST(DerStrict, NonMinimalShortLength) {
  expect_error("04 81 05 0102030405", Code::kCorruption, "offset 1: non-minimal length");
}
TEST(DerStrict, NonMinimalLongLength) {
  expect_error("04 82 0080" + std::string(256, '0'), Code::kCorruption,
               "offset 1: non-minimal length");
}
TEST(DerStrict, IndefiniteLength) {
  expect_error("30 80 0000", Code::kCorruption, "offset 1: indefinite length");
}
TEST(DerStrict, TrailingBytes) {
  expect_error("05 00 00", Code::kCorruption, "offset 2: trailing bytes");
}
TEST(DerStrict, TruncatedValue) {
  expect_error("04 05 0102", Code::kCorruption, "offset 1: length 5 exceeds the 2 bytes remaining");
}
TEST(DerStrict, EmptyInput) {
  expect_error("", Code::kCorruption, "offset 0: truncated");
}

TEST(DerStrict, HugeLengthRefusedWithoutAllocation) {
  expect_error("04 84 ffffffff", Code::kCorruption, "offset 1: length 4294967295 exceeds the 0");
  expect_error("04 88 ffffffffffffffff", Code::kCorruption, "offset 1: length field of 8 bytes");
}

TEST(DerStrict, InvalidUtf8) {
  expect_error("0c 02 c080", Code::kCorruption, "offset 2: invalid UTF-8");    // overlong NUL
  expect_error("0c 03 e08080", Code::kCorruption, "offset 2: invalid UTF-8");  // overlong 3-byte
  expect_error("0c 03 eda080", Code::kCorruption, "offset 2: invalid UTF-8");  // surrogate
  expect_error("0c 05 61f4908080", Code::kCorruption, "offset 3: invalid UTF-8");  // > U+10FFFF
  expect_error("0c 02 61e2", Code::kCorruption, "offset 3: invalid UTF-8");        // truncated
  expect_error("0c 01 80", Code::kCorruption, "offset 2: invalid UTF-8");  // lone continuation
  // A key is checked as well.
  expect_error("31 07 30 05 0c 01 ff 0500", Code::kCorruption, "offset 6: invalid UTF-8");
}

TEST(DerStrict, Integers) {
  expect_error("02 00", Code::kCorruption, "offset 2: INTEGER with no content");
  expect_error("02 02 007f", Code::kCorruption, "offset 2: non-minimal INTEGER");
  expect_error("02 02 ff80", Code::kCorruption, "offset 2: non-minimal INTEGER");
  expect_error("02 09 010000000000000000", Code::kCorruption, "offset 2: INTEGER of 9 bytes");
  expect_error("02 09 00ffffffffffffffff", Code::kCorruption, "offset 2: INTEGER of 9 bytes");
}

TEST(DerStrict, Booleans) {
  expect_error("01 01 ff", Code::kCorruption, "offset 2: BOOLEAN byte 0xff");
  expect_error("01 01 02", Code::kCorruption, "offset 2: BOOLEAN byte 0x02");
  expect_error("01 02 0001", Code::kCorruption, "offset 2: BOOLEAN of length 2");
  expect_error("05 01 00", Code::kCorruption, "offset 0: NULL with content");
}

TEST(DerStrict, Tags) {
  expect_error("13 01 41", Code::kCorruption, "offset 0: unexpected tag 0x13");
  expect_error("17 0d 3031303130313030303030305a", Code::kUnsupported, "offset 0: UTCTime");
  expect_error("31 05 31 03 0c 01 61", Code::kCorruption,
               "offset 2: dictionary entry has tag 0x31");
  expect_error("31 06 30 04 04 00 05 00", Code::kCorruption,
               "offset 4: dictionary key has tag 0x04");
  expect_error("31 08 30 06 0c 01 61 05 00 00", Code::kCorruption,
               "offset 9: trailing bytes in dictionary entry");
  expect_error("31 05 30 03 0c 01 61", Code::kCorruption, "offset 7: truncated: expected a tag");
}

TEST(DerStrict, UnsortedDictionary) {
  // The two entries of PdmnAndSyncSortByEncodedLengthFirst, swapped: the second one is out of
  // place.
  expect_error("31 17 30 0a 0c 04 70646d6e 0c 02 616b 30 09 0c 04 73796e63 02 01 00",
               Code::kCorruption, "offset 14: dictionary entries not in canonical order");
}

TEST(DerStrict, DuplicateKeys) {
  // Different values: the entries are in order but the key repeats.
  expect_error("31 10 30 06 0c 01 61 02 01 00 30 06 0c 01 61 02 01 01", Code::kCorruption,
               "offset 10: duplicate dictionary key 'a'");
  // Identical entries are not strictly increasing.
  expect_error("31 10 30 06 0c 01 61 02 01 00 30 06 0c 01 61 02 01 00", Code::kCorruption,
               "offset 10: dictionary entries not in canonical order");
}

TEST(DerStrict, Dates) {
  const std::string day = "3230303130313031";  // 20010101
  expect_error("18 0f 3230303130323330303030303030 5a", Code::kCorruption,
               "offset 2: GeneralizedTime is not a valid");  // Feb 30
  expect_error("18 0f 3230303130313031323430303030 5a", Code::kCorruption,
               "offset 2: GeneralizedTime is not a valid");  // 24h
  expect_error("18 0f 3230303130313031303030303630 5a", Code::kCorruption,
               "offset 2: GeneralizedTime is not a valid");  // :60 leap second
  expect_error("18 12 " + day + "303030303030 2e3530 5a", Code::kCorruption,
               "offset 18: GeneralizedTime fraction has a trailing zero");
  expect_error("18 0e " + day + "303030303030", Code::kCorruption,
               "offset 2: GeneralizedTime of length 14");
  expect_error("18 10 " + day + "303030303030 2e 5a", Code::kCorruption,
               "offset 2: GeneralizedTime of length 16");
  expect_error("18 13 " + day + "303030303030 2b30313030", Code::kCorruption,
               "offset 16: GeneralizedTime: expected '.'");
  expect_error("18 0f " + day + "303030303030 30", Code::kCorruption,
               "offset 16: GeneralizedTime must end in 'Z'");
  expect_error("18 14 " + day + "303030303030 2e31323334 5a", Code::kCorruption,
               "GeneralizedTime of length 20");
  expect_error("18 0f 3230303161313031303030303030 5a", Code::kCorruption,
               "offset 2: GeneralizedTime has a non-digit");
  // 2000-02-29 exists (leap year), 1900-02-29 does not.
  EXPECT_TRUE(decode_der(hex("18 0f 3230303030323239303030303030 5a")).ok());
  expect_error("18 0f 3139303030323239303030303030 5a", Code::kCorruption, "not a valid date");
}

Bytes nested_arrays(int depth) {
  Bytes b = {0x30, 0x00};
  for (int i = 1; i < depth; ++i) {
    Bytes outer = {0x30, static_cast<uint8_t>(b.size())};
    outer.insert(outer.end(), b.begin(), b.end());
    b = outer;
  }
  return b;
}

TEST(DerCaps, DeepNestingRefused) {
  EXPECT_TRUE(decode_der(nested_arrays(32)).ok());
  auto r = decode_der(nested_arrays(33));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kResourceExhausted);
  EXPECT_NE(r.status().message().find("offset 64: containers nested deeper than 32"),
            std::string::npos)
      << r.status().message();
}

TEST(DerCaps, EncoderRefusesWhatTheDecoderWouldRefuse) {
  DerValue v = DerValue::Array({});
  for (int i = 1; i < 33; ++i)
    v = DerValue::Array({v});
  EXPECT_EQ(encode_der(v).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(encode_der(DerValue::String("\xc0\x80")).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(
      encode_der(DerValue::Date(DerDate{std::numeric_limits<int64_t>::max()})).status().code(),
      Code::kInvalidArgument);
  EXPECT_TRUE(
      encode_der(DerValue::Date(DerDate{253402300799999})).ok());  // 9999-12-31T23:59:59.999
  EXPECT_FALSE(encode_der(DerValue::Date(DerDate{253402300800000})).ok());
}

TEST(DerCaps, InputSizeAndElementCount) {
  DerLimits small;
  small.max_input_bytes = 4;
  expect_error("04 03 010203", Code::kResourceExhausted, "offset 0: input of 5 bytes exceeds",
               small);
  DerLimits few;
  few.max_elements = 3;
  expect_error("30 08 0500 0500 0500 0500", Code::kResourceExhausted,
               "offset 6: more than 3 elements", few);
}

TEST(DerDictionaryTop, RefusesOtherTopLevelTypes) {
  auto r = decode_der_dictionary(hex("30 00"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("offset 0: top-level tag 0x30"), std::string::npos);
  EXPECT_TRUE(decode_der_dictionary(hex("31 00")).ok());
}

// A cheap stand-in for the der_item fuzz target: whatever mutated bytes are accepted must
// re-encode to exactly themselves.
// encode_der_dictionary_with (an item's attributes and its secret, issue 17): the bytes of the
// dictionary that holds the extra entry, whichever place the entry's encoding sorts to, and a key
// given twice refused.
TEST(DerDictionaryWith, EncodesAsTheDictionaryHoldingTheEntry) {
  DerDict attrs;
  attrs.set("acct", DerValue::String("user@example.com"));
  attrs.set("pdmn", DerValue::String("ak"));
  attrs.set("labl", DerValue::String(std::string(300, 'l')));  // a long entry: it sorts last
  for (const DerValue& v : {DerValue::Data(Bytes{}), DerValue::Data(Bytes(5, 1)),
                            DerValue::Data(Bytes(200, 2)), DerValue::Data(Bytes(400, 3))}) {
    const DerEntry extra{"v_Data", v};
    Bytes with;
    ASSERT_TRUE(encode_der_dictionary_with(attrs, extra, &with).ok());
    DerDict whole = attrs;
    whole.set(extra.key, extra.value);
    Bytes expected;
    ASSERT_TRUE(encode_der_dictionary(whole, &expected).ok());
    EXPECT_EQ(with, expected) << v.as_data()->size() << "-byte value";
  }
  Bytes out;
  const Status twice =
      encode_der_dictionary_with(attrs, DerEntry{"pdmn", DerValue::String("ck")}, &out);
  EXPECT_EQ(twice.code(), Code::kInvalidArgument) << twice.to_string();
}

TEST(DerRoundTrip, AcceptedMutationsReencodeByteForByte) {
  DerValue seed = dict_of({{"pdmn", DerValue::String("ck")},
                           {"sync", DerValue::Integer(1)},
                           {"cdat", DerValue::Date(DerDate{978307200123})},
                           {"acct", DerValue::Data(Bytes{0x80, 0x00})},
                           {"b", DerValue::Boolean(true)},
                           {"a", DerValue::Array({DerValue::Null(), DerValue::Integer(-5)})}});
  const Bytes base = *encode_der(seed);
  std::mt19937 rng(12345);
  int accepted = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    Bytes m = base;
    const int flips = 1 + static_cast<int>(rng() % 3);
    for (int f = 0; f < flips; ++f) {
      const size_t at = rng() % m.size();
      switch (rng() % 3) {
        case 0:
          m[at] ^= static_cast<uint8_t>(1u << (rng() % 8));
          break;
        case 1:
          m[at] = static_cast<uint8_t>(rng());
          break;
        default:
          m.resize(at + 1);
          break;
      }
    }
    auto d = decode_der(m);
    if (!d.ok()) continue;
    ++accepted;
    auto again = encode_der(*d);
    ASSERT_TRUE(again.ok()) << to_hex(m);
    ASSERT_EQ(to_hex(*again), to_hex(m));
  }
  EXPECT_GT(accepted, 10);
}

TEST(DerText, KindNamesFollowTheVariantOrder) {
  EXPECT_EQ(der_kind_name(DerValue::Null().kind()), "null");
  EXPECT_EQ(der_kind_name(DerValue::Boolean(true).kind()), "boolean");
  EXPECT_EQ(der_kind_name(DerValue::Integer(1).kind()), "integer");
  EXPECT_EQ(der_kind_name(DerValue::String("s").kind()), "string");
  EXPECT_EQ(der_kind_name(DerValue::Data(Bytes{}).kind()), "data");
  EXPECT_EQ(der_kind_name(DerValue::Date(DerDate{0}).kind()), "date");
  EXPECT_EQ(der_kind_name(DerValue::Array({}).kind()), "array");
  EXPECT_EQ(der_kind_name(DerValue::Dictionary(DerDict()).kind()), "dictionary");
  EXPECT_EQ(der_kind_name(static_cast<DerKind>(8)), "unknown");
}

TEST(DerText, DatesInIso8601WithMilliseconds) {
  EXPECT_EQ(der_date_text(DerDate{0}), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(der_date_text(DerDate{1714564800123}), "2024-05-01T12:00:00.123Z");
  EXPECT_EQ(der_date_text(DerDate{-1}), "1969-12-31T23:59:59.999Z");  // floor, not truncation
  EXPECT_EQ(der_date_text(DerDate{-62167219200000}), "0000-01-01T00:00:00.000Z");
  // Past year 9999 no decoder accepts: the number, never a five-digit year.
  EXPECT_EQ(der_date_text(DerDate{253402300800000}), "253402300800000 ms");
}

TEST(DerText, ValuesOnOneLineWithHostileTextMadeSafe) {
  const DerValue v = dict_of(
      {{"acct", DerValue::String("a\nb")},
       {"v_Data", DerValue::Data(hex("00ff"))},
       {"list",
        DerValue::Array({DerValue::Integer(-3), DerValue::Boolean(false), DerValue::Null()})},
       {"cdat", DerValue::Date(DerDate{0})}});
  EXPECT_EQ(der_value_text(v),
            "{acct: \"a\\x0ab\", cdat: 1970-01-01T00:00:00.000Z, list: [-3, false, null], "
            "v_Data: <00ff>}");
}

}  // namespace
}  // namespace kcb
