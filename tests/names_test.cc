// The one name table: every spelling a user has parses to the same value, codes round-trip, and
// unknown names are errors that list what is accepted.
#include <gtest/gtest.h>

#include "kcbackup/names.h"
#include "kcbackup/utf8.h"

namespace kcb {
namespace {

TEST(Names, EverySpellingOfWhenUnlockedParsesToOneValue) {
  for (const char* s : {"kSecAttrAccessibleWhenUnlocked", "WhenUnlocked", "whenUnlocked",
                        "when-unlocked", "when_unlocked", "WHEN UNLOCKED", "ak"}) {
    auto a = parse_accessibility(s);
    ASSERT_TRUE(a.ok()) << s << ": " << a.status().to_string();
    EXPECT_EQ(*a, Accessibility::kWhenUnlocked) << s;
  }
}

TEST(Names, EveryAccessibilityRoundTripsThroughEachSpelling) {
  for (Accessibility a : kAllAccessibilities) {
    const AccessibilityName& n = names_of(a);
    EXPECT_EQ(*parse_accessibility(n.name), a);
    EXPECT_EQ(*parse_accessibility(n.constant), a);
    EXPECT_EQ(*parse_accessibility(n.pdmn), a);
    EXPECT_EQ(accessibility_from_pdmn(n.pdmn), a);
    EXPECT_EQ(accessibility_from_key_class(n.key_class), a);
  }
}

TEST(Names, PdmnCodesAndClassNumbersMatchRulesMd) {
  const struct {
    Accessibility a;
    const char* pdmn;
    uint32_t key_class;
  } expected[] = {
      {Accessibility::kWhenUnlocked, "ak", 6},
      {Accessibility::kAfterFirstUnlock, "ck", 7},
      {Accessibility::kAlways, "dk", 8},
      {Accessibility::kWhenUnlockedThisDeviceOnly, "aku", 9},
      {Accessibility::kAfterFirstUnlockThisDeviceOnly, "cku", 10},
      {Accessibility::kAlwaysThisDeviceOnly, "dku", 11},
      {Accessibility::kWhenPasscodeSetThisDeviceOnly, "akpu", 12},
  };
  for (const auto& e : expected) {
    EXPECT_EQ(names_of(e.a).pdmn, e.pdmn);
    EXPECT_EQ(names_of(e.a).key_class, e.key_class);
    // The reverse lookups too: a swap made in the table alone would still read back "right".
    EXPECT_EQ(accessibility_from_key_class(e.key_class), e.a);
    EXPECT_EQ(accessibility_from_pdmn(e.pdmn), e.a);
  }
  EXPECT_TRUE(names_of(Accessibility::kAlways).deprecated);
  EXPECT_TRUE(names_of(Accessibility::kAlwaysThisDeviceOnly).deprecated);
  EXPECT_FALSE(names_of(Accessibility::kWhenUnlocked).deprecated);
}

TEST(Names, ThisDeviceOnlyIsNotConfusedWithItsMigratorySibling) {
  EXPECT_EQ(*parse_accessibility("whenUnlockedThisDeviceOnly"),
            Accessibility::kWhenUnlockedThisDeviceOnly);
  EXPECT_EQ(*parse_accessibility("after-first-unlock-this-device-only"),
            Accessibility::kAfterFirstUnlockThisDeviceOnly);
  EXPECT_EQ(*parse_accessibility("akpu"), Accessibility::kWhenPasscodeSetThisDeviceOnly);
}

TEST(Names, UnknownAccessibilityListsWhatIsAccepted) {
  auto a = parse_accessibility("whenever");
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), Code::kInvalidArgument);
  EXPECT_NE(a.status().message().find("'whenever'"), std::string::npos);
  EXPECT_NE(a.status().message().find("AfterFirstUnlock (ck)"), std::string::npos);
  EXPECT_FALSE(parse_accessibility("").ok());
  EXPECT_FALSE(parse_accessibility("kSecAttrAccessible").ok());
}

TEST(Names, JourneysTargetsAndClassesAcceptTheirSpellings) {
  EXPECT_EQ(*parse_journey("local"), Journey::kLocal);
  EXPECT_EQ(*parse_journey("local-encrypted"), Journey::kLocalEncrypted);
  EXPECT_EQ(*parse_journey("local_encrypted"), Journey::kLocalEncrypted);
  EXPECT_EQ(*parse_journey("iCloud-Backup"), Journey::kIcloudBackup);
  EXPECT_EQ(*parse_journey("quick-start"), Journey::kQuickStart);
  EXPECT_EQ(*parse_journey("icloud-keychain"), Journey::kIcloudKeychain);
  EXPECT_EQ(*parse_target("same-device"), Target::kSameDevice);
  EXPECT_EQ(*parse_target("other-device"), Target::kOtherDevice);
  EXPECT_EQ(*parse_item_class("kSecClassGenericPassword"), ItemClass::kGenp);
  EXPECT_EQ(*parse_item_class("inet"), ItemClass::kInet);
  EXPECT_EQ(*parse_token("secure-enclave"), Token::kSecureEnclave);
  for (Journey j : kAllJourneys)
    EXPECT_EQ(*parse_journey(name_of(j)), j);
  for (Target t : kAllTargets)
    EXPECT_EQ(*parse_target(name_of(t)), t);
  for (ItemClass c : kAllItemClasses)
    EXPECT_EQ(*parse_item_class(name_of(c)), c);
}

TEST(Names, UnknownJourneyIsAnErrorNamingTheChoices) {
  auto j = parse_journey("dropbox");
  ASSERT_FALSE(j.ok());
  EXPECT_NE(j.status().message().find("local-encrypted"), std::string::npos);
  EXPECT_FALSE(parse_target("").ok());
  EXPECT_FALSE(parse_item_class("idnt").ok());  // an identity is not a stored class
}

TEST(Names, SystemBoundKindsAcceptApplesConstantsAndTheColumnValues) {
  EXPECT_EQ(name_of(SystemBound::kNone), "none");
  EXPECT_EQ(name_of(SystemBound::kPreserveDuringRestore), "preserve");
  EXPECT_EQ(*parse_system_bound("preserve"), SystemBound::kPreserveDuringRestore);
  EXPECT_EQ(*parse_system_bound("preserve-during-restore"), SystemBound::kPreserveDuringRestore);
  EXPECT_EQ(*parse_system_bound("kSecSecAttrSysBoundPreserveDuringRestore"),
            SystemBound::kPreserveDuringRestore);
  EXPECT_EQ(*parse_system_bound("1"), SystemBound::kPreserveDuringRestore);  // sysb = 1
  EXPECT_EQ(*parse_system_bound("0"), SystemBound::kNone);
  EXPECT_EQ(*parse_system_bound("kSecSecAttrSysBoundNot"), SystemBound::kNone);
  for (SystemBound b : kAllSystemBounds)
    EXPECT_EQ(*parse_system_bound(name_of(b)), b);
  auto bad = parse_system_bound("forever");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("none preserve"), std::string::npos);
}

TEST(Names, PersistentRefKindsAndFatesRoundTrip) {
  EXPECT_EQ(name_of(PersistentRefKind::kRowid), "rowid");
  EXPECT_EQ(name_of(PersistentRefKind::kUuid), "uuid");
  EXPECT_EQ(*parse_persistent_ref_kind("UUID"), PersistentRefKind::kUuid);
  EXPECT_EQ(*parse_persistent_ref_kind("old-style"), PersistentRefKind::kRowid);
  EXPECT_EQ(*parse_persistent_ref_kind("20"), PersistentRefKind::kUuid);  // its length in bytes
  EXPECT_EQ(*parse_persistent_ref_kind("12"), PersistentRefKind::kRowid);
  for (PersistentRefKind k : kAllPersistentRefKinds)
    EXPECT_EQ(*parse_persistent_ref_kind(name_of(k)), k);
  EXPECT_FALSE(parse_persistent_ref_kind("uuid4").ok());
  EXPECT_EQ(name_of(RefFate::kKept), "kept");
  EXPECT_EQ(name_of(RefFate::kRenewed), "renewed");
  EXPECT_EQ(name_of(RefFate::kNone), "none");
  for (RefFate f : {RefFate::kKept, RefFate::kRenewed, RefFate::kNone})
    EXPECT_EQ(*parse_ref_fate(name_of(f)), f);
  EXPECT_FALSE(parse_ref_fate("maybe").ok());
}

TEST(Names, OutcomesAndTheNewRuleIds) {
  EXPECT_EQ(name_of(Outcome::kRestored), "restored");
  EXPECT_EQ(name_of(Outcome::kLost), "lost");
  EXPECT_EQ(name_of(Outcome::kKept), "kept");
  EXPECT_EQ(name_of(RuleId::R9), "R9");
  EXPECT_EQ(name_of(RuleId::R10), "R10");
  EXPECT_EQ(name_of(RuleId::R15), "R15");
  size_t i = 1;
  for (RuleId r : kAllRules)
    EXPECT_EQ(name_of(r), "R" + std::to_string(i++));
  EXPECT_EQ(i, 16u);
}

TEST(Names, LabelsForPeople) {
  EXPECT_EQ(on_off(true), "on");
  EXPECT_EQ(on_off(false), "off");
  EXPECT_EQ(accessible_text(Accessibility::kWhenUnlocked), "WhenUnlocked (ak)");
  EXPECT_EQ(accessible_text(Accessibility::kWhenPasscodeSetThisDeviceOnly),
            "WhenPasscodeSetThisDeviceOnly (akpu)");
  EXPECT_EQ(key_class_text(9), "9 WhenUnlockedThisDeviceOnly");
  EXPECT_EQ(key_class_text(3), "3 (not a keychain class)");
  EXPECT_EQ(key_class_text(13), "13 (not a keychain class)");
}

TEST(Names, TraitFlagsNameEverySetTraitInOrder) {
  Traits t;
  EXPECT_EQ(flags_text(t), "-");
  t.synchronizable = true;
  EXPECT_EQ(flags_text(t), "sync");
  t.token = Token::kSecureEnclave;
  t.auth_constraint = true;
  t.system_bound = SystemBound::kPreserveDuringRestore;
  t.app_clip = true;
  t.tombstone = true;
  EXPECT_EQ(flags_text(t), "sync,secure-enclave,auth,system-bound,app-clip,tombstone");
  t.synchronizable = false;
  EXPECT_EQ(flags_text(t), "secure-enclave,auth,system-bound,app-clip,tombstone");
}

TEST(Names, TextOrHexKeepsUtf8AndHexesTheRest) {
  EXPECT_EQ(text_or_hex(std::string_view("caf\xc3\xa9\n")), "caf\xc3\xa9\n");  // controls stay
  const uint8_t bad[] = {0x61, 0xff};
  EXPECT_EQ(text_or_hex(ByteView(bad, 2)), "0x61ff");
  EXPECT_EQ(printable_text(std::string_view("a\nb")), "a\\x0ab");
}

// valid_utf8_prefix against known answers, with each sequence at every offset of an ASCII run so
// the eight-bytes-at-a-time ASCII path meets it at every alignment, before and after a word.
TEST(Utf8, PrefixIsWhereTheFirstIllFormedSequenceStartsAtEveryOffset) {
  struct Case {
    std::string bytes;
    bool valid;
  };
  const Case cases[] = {
      {"\xc3\xa9", true},
      {"\xe2\x82\xac", true},
      {"\xf0\x9f\x98\x80", true},
      {"\xf4\x8f\xbf\xbf", true},
      {"\x7f", true},
      {"\x80", false},
      {"\xff", false},
      {"\xc0\x80", false},
      {"\xc1\xbf", false},
      {"\xe0\x9f\xbf", false},
      {"\xed\xa0\x80", false},
      {"\xf4\x90\x80\x80", false},
      {"\xf5\x80\x80\x80", false},
      {"\xc3", false},
      {"\xe2\x82", false},
  };
  for (const Case& c : cases) {
    for (size_t at = 0; at <= 17; ++at) {
      for (size_t after : {size_t{0}, size_t{1}, size_t{9}}) {
        const std::string text = std::string(at, 'a') + c.bytes + std::string(after, 'b');
        const auto* p = reinterpret_cast<const uint8_t*>(text.data());
        const size_t expected = c.valid ? text.size() : at;
        EXPECT_EQ(valid_utf8_prefix(p, text.size()), expected)
            << "sequence " << to_hex(as_bytes(c.bytes)) << " at " << at << ", " << after
            << " ASCII bytes after";
        EXPECT_EQ(is_valid_utf8(text), c.valid);
      }
    }
  }
  // A high bit in any byte of a word stops the fast path there, not a word later.
  for (size_t at = 0; at < 16; ++at) {
    std::string text(16, 'x');
    text[at] = static_cast<char>(0x80);
    EXPECT_EQ(valid_utf8_prefix(reinterpret_cast<const uint8_t*>(text.data()), text.size()), at);
  }
  EXPECT_EQ(valid_utf8_prefix(nullptr, 0), 0u);
}

}  // namespace
}  // namespace kcb
