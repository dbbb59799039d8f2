// The one name table: every spelling a user has parses to the same value, codes round-trip, and
// unknown names are errors that list what is accepted.
#include <gtest/gtest.h>

#include "kcbackup/names.h"

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

}  // namespace
}  // namespace kcb
