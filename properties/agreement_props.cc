// Agreement: for generated items, journey, target and settings, the engine's per-item outcome and
// road equal oracle::predict's, and SecItemAdd answers what oracle::check_add expects. The engine
// side is a real run (kcbackup/journey.h says how it is driven and how its answer is read).
//
// The oracle's own answers beyond outcome and road (issue 15): a verdict is never surer than the
// rules that decided it (rules.md's confidence column), the clauses rules.md calls inferred stay
// inferred, the notes that explain a trait are there, every note's text is about that note, and
// the measured table is predicted. The name table: every spelling people use, in any case and
// with any separators, parses to its value; text that names nothing is refused.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cctype>
#include <set>
#include <sstream>
#include <utility>

#include "engine/pooled_memory.h"
#include "engine/setup_profile.h"
#include "kcbackup/journey.h"
#include "kcbackup/oracle.h"
#include "kcbackup/rules.h"
#include "properties/generators.h"

namespace kcb {
namespace {

// Thousands of journeys in one process: SQLite's and OpenSSL's memory from free lists
// (engine/pooled_memory.h), installed before anything here opens a database.
const bool kPooledLibraryMemory = use_pooled_library_memory();

TEST(Agreement, RunsOnPooledLibraryMemory) {
  EXPECT_EQ(kPooledLibraryMemory, !baseline_setup());
}

std::string shown(const harness::ItemSpec& spec) {
  std::ostringstream os;
  harness::showValue(spec, os);
  return os.str();
}

RC_GTEST_PROP(Agreement, EngineOutcomeAndRoadEqualPredict, ()) {
  harness::JourneyCase c;
  c.seed = *rc::gen::arbitrary<uint64_t>().as("seed");
  c.settings = *props::gen_settings().as("settings");
  c.journey = *props::gen_journey().as("journey");
  c.target = *props::gen_target_for(c.journey).as("target");
  c.password = *props::gen_password().as("password");
  c.items = *props::gen_item_batch(1, 6).as("items");

  auto run = harness::run_journey_case(c);
  if (!run.ok()) RC_FAIL("engine failed on a valid run: " + run.status().to_string());
  for (size_t i = 0; i < c.items.size(); ++i) {
    const harness::ItemSpec& spec = c.items[i];
    const AddError expected = oracle::check_add(spec.traits, c.settings.passcode);
    if (run->add_errors[i] != expected) {
      RC_FAIL("add " + shown(spec) + ": engine " + std::string(name_of(run->add_errors[i])) +
              ", oracle " + std::string(name_of(expected)));
    }
    const oracle::Question question{spec.traits, c.journey, c.target, c.settings};
    auto predicted = oracle::predict(question);
    RC_ASSERT(predicted.ok());
    const Verdict& got = run->verdicts[i];
    if (got.outcome != predicted->outcome || got.road != predicted->road) {
      RC_FAIL("item " + shown(spec) + ": engine " + std::string(name_of(got.outcome)) + " via " +
              std::string(name_of(got.road)) + ", oracle " +
              std::string(name_of(predicted->outcome)) + " via " +
              std::string(name_of(predicted->road)));
    }
    // R11: by the backup road onto an erased or new phone (no rowid taken), the stored reference.
    if (got.road == Road::kBackup) {
      const RefFate want = oracle::predict_ref(question, *predicted, false).fate;
      if (run->references[i] != want) {
        RC_FAIL("item " + shown(spec) + ": reference " + std::string(name_of(run->references[i])) +
                ", oracle " + std::string(name_of(want)));
      }
    }
  }
  // One tag of both names: RapidCheck shows each tagged value through an ostringstream, whose
  // construction was 1 % of a case (issue 17).
  RC_TAG(std::string(name_of(c.journey)) + " onto " + std::string(name_of(c.target)));
}

// ---- the oracle's rules, confidence and notes ----

oracle::Question gen_question() {
  oracle::Question q;
  q.traits = *props::gen_traits().as("traits");
  q.journey = *props::gen_journey().as("journey");
  q.target = *props::gen_target_for(q.journey).as("target");
  q.settings = *props::gen_settings().as("settings");
  return q;
}

bool is_plain_measured_question(const oracle::Question& q) {
  if (!(q.traits == Traits{q.traits.accessible, ItemClass::kGenp})) return false;
  return std::any_of(oracle::measured_table().begin(), oracle::measured_table().end(),
                     [&](const oracle::MeasuredRow& r) {
                       return r.accessible == q.traits.accessible && r.journey == q.journey &&
                              r.target == q.target;
                     });
}

// rules.md: "a verdict is only as strong as its weakest clause"; a clause is never surer than its
// rule as a whole, and only a question the measured table answers is "measured".
RC_GTEST_PROP(Oracle, AVerdictIsNoSurerThanTheRulesThatDecidedIt, ()) {
  const oracle::Question q = gen_question();
  auto v = oracle::predict(q);
  RC_ASSERT(v.ok());
  RC_ASSERT(!v->rules.empty());
  if (is_plain_measured_question(q)) {
    RC_ASSERT(v->confidence == Confidence::kMeasured);
    return;
  }
  for (RuleId r : kAllRules) {
    if (!v->rules.has(r)) continue;
    if (v->confidence < oracle::rule(r).confidence) {
      RC_FAIL(std::string(name_of(r)) + " decided with confidence " +
              std::string(name_of(v->confidence)) + ", surer than the rule's own " +
              std::string(name_of(oracle::rule(r).confidence)));
    }
  }
}

// Known answers from rules.md: which clauses are inferred, which notes a trait always brings.
RC_GTEST_PROP(Oracle, TheNotesAndInferencesATraitBringsAreThere, ()) {
  const oracle::Question q = gen_question();
  auto v = oracle::predict(q);
  RC_ASSERT(v.ok());
  const Traits& t = q.traits;
  if (oracle::check_add(t, q.settings.passcode) != AddError::kNone || t.tombstone) return;
  // R1 for an access-control constraint alone is inferred (the skip-ACL flag), on every journey
  // that exports.
  const bool only_auth = t.auth_constraint && t.token == Token::kNone &&
                         t.system_bound == SystemBound::kNone &&
                         t.accessible != Accessibility::kWhenPasscodeSetThisDeviceOnly;
  if (only_auth && q.journey != Journey::kIcloudKeychain) {
    RC_ASSERT(v->rules.has(RuleId::R1));
    RC_ASSERT(v->notes.has(Note::kAuthConstraintSkipped));
    RC_ASSERT(v->confidence >= Confidence::kInferred);
  }
  // R6: a synchronizable ThisDeviceOnly item that did not come back is told it never syncs.
  if (t.synchronizable && oracle::is_this_device_only(t.accessible) &&
      v->outcome != Outcome::kRestored) {
    RC_ASSERT(v->notes.has(Note::kSyncThisDeviceOnlyNeverSyncs));
  }
  // R5: on quick-start, road "backup" is the direct transfer, and the answer says so.
  if (q.journey == Journey::kQuickStart && v->road == Road::kBackup) {
    RC_ASSERT(v->notes.has(Note::kQuickStartRoadIsTransfer));
  }
  if (t.app_clip && q.journey != Journey::kIcloudKeychain) {
    RC_ASSERT(v->rules.has(RuleId::R10));
    RC_ASSERT(v->notes.has(Note::kAppClipNeverExported));
  }
  RC_TAG(std::string(name_of(v->outcome)));
}

// Each note's text is about that note: the words that identify it (rules.md's notes). note_text
// looks notes up by position, so an entry moved in the table shows another note's text.
TEST(Oracle, EveryNoteTextIsAboutItsNote) {
  const std::pair<Note, const char*> expected[] = {
      {Note::kIcloudKeychainAssumedOff, "was not specified"},
      {Note::kIcloudKeychainOptedOut, "the user has it off"},
      {Note::kSyncThisDeviceOnlyNeverSyncs, "synchronizable ThisDeviceOnly"},
      {Note::kAdvancedDataProtection, "Advanced Data Protection"},
      {Note::kReportedQuickStartThisDeviceOnly, "phone-to-phone"},
      {Note::kReportedIcloudRestoreThisDeviceOnly, "keychain-swift#153"},
      {Note::kPasscodeRemovalDeletes, "passcode off deletes"},
      {Note::kAddFailsNoPasscode, "errSecAuthFailed"},
      {Note::kAddFailsAuthSync, "access-control constraint cannot be"},
      {Note::kAddFailsTokenClass, "EC P-256"},
      {Note::kQuickStartRoadIsTransfer, "device-to-device transfer"},
      {Note::kSecureEnclaveNeverLeaves, "inside that device's Secure Enclave"},
      {Note::kAuthConstraintSkipped, "user authentication"},
      {Note::kAppClipNeverExported, "App Clip's items are never exported"},
      {Note::kAppClipSyncFollowsR6, "follows R6"},
      {Note::kSystemBoundPutBack, "puts it back"},
      {Note::kTombstoneNotReadable, "never restored as an item"},
      {Note::kTombstoneInBackup, "carries this tombstone"},
      {Note::kTombstoneNotInBackup, "leaves this tombstone out"},
      {Note::kCollisionTargetKept, "the target's version"},
      {Note::kCollisionTombstone, "holds a tombstone"},
      {Note::kUuidRefsVersionNotPublic, "is not public"},
      {Note::kRefRenewedUuid, "hands out UUID-based"},
      {Note::kRefRenewedRowidTaken, "rowid is already taken"},
      {Note::kRefRenewedBySync, "arrives through iCloud Keychain"},
      {Note::kRefRenewedRowidTarget, "hands out old-style"},
  };
  static_assert(std::size(expected) == kNoteCount);
  for (const auto& [note, words] : expected) {
    EXPECT_NE(oracle::note_text(note).find(words), std::string_view::npos)
        << "note " << static_cast<int>(note) << ": " << oracle::note_text(note);
  }
}

// rules.md gives each rule its confidence (R2-R4 "measured; documented": documented as a whole).
TEST(Oracle, EveryRuleHasTheConfidenceRulesMdGivesIt) {
  constexpr Confidence S = Confidence::kSourceCode, D = Confidence::kDocumented;
  const Confidence expected[] = {S, D, D, D, D, D, S, D, S, S, S, S, S, S, S};
  static_assert(std::size(expected) == std::size(kAllRules));
  for (size_t i = 0; i < std::size(kAllRules); ++i) {
    EXPECT_EQ(oracle::rule(kAllRules[i]).id, kAllRules[i]);
    EXPECT_EQ(oracle::rule(kAllRules[i]).confidence, expected[i]) << name_of(kAllRules[i]);
  }
}

// The measured table (the seed's twelve rows) is what predict answers, as measured.
TEST(Oracle, EveryMeasuredRowIsPredictedAsMeasured) {
  // Known answers (rules.md, "Measured"): ThisDeviceOnly never restores elsewhere, and neither
  // does anything from an unencrypted or iCloud backup; everything restores to the same device.
  for (const oracle::MeasuredRow& row : oracle::measured_table()) {
    const bool expected_restored =
        row.target == Target::kSameDevice ||
        (row.journey == Journey::kLocalEncrypted && row.accessible == Accessibility::kWhenUnlocked);
    EXPECT_EQ(row.measured, expected_restored ? Outcome::kRestored : Outcome::kLost)
        << names_of(row.accessible).name << " " << name_of(row.journey) << " "
        << name_of(row.target);
    auto v = oracle::predict(
        {Traits{row.accessible, ItemClass::kGenp}, row.journey, row.target, DeviceSettings{}});
    ASSERT_TRUE(v.ok());
    EXPECT_EQ(v->outcome, row.measured);
    EXPECT_EQ(v->confidence, Confidence::kMeasured);
  }
}

// ---- the name table ----

// Folding ignores case and '-', '_', '.', ' ': any mix of them is the same name.
rc::Gen<std::string> gen_spelling_of(std::string_view name) {
  return rc::gen::map(
      rc::gen::container<std::vector<std::pair<bool, int>>>(
          name.size(), rc::gen::pair(rc::gen::arbitrary<bool>(), rc::gen::inRange(0, 12))),
      [name = std::string(name)](const std::vector<std::pair<bool, int>>& how) {
        static constexpr char kSeparators[] = {'-', '_', '.', ' '};
        std::string out;
        for (size_t i = 0; i < name.size(); ++i) {
          const auto c = static_cast<unsigned char>(name[i]);
          out += static_cast<char>(how[i].first ? std::toupper(c) : std::tolower(c));
          if (i + 1 < name.size() && how[i].second < 4) out += kSeparators[how[i].second];
        }
        return out;
      });
}

// Every spelling a user has for each value (names.h, docs/cli.md): canonical names, Apple's
// constants, the codes, and the words of Finder, iTunes and the setup assistant.
struct KnownSpelling {
  std::string_view text;
  std::string_view kind;
  int value;
};
constexpr KnownSpelling kKnownSpellings[] = {
    {"finder", "journey", static_cast<int>(Journey::kLocal)},
    {"itunes", "journey", static_cast<int>(Journey::kLocal)},
    {"local-unencrypted", "journey", static_cast<int>(Journey::kLocal)},
    {"finder-encrypted", "journey", static_cast<int>(Journey::kLocalEncrypted)},
    {"itunes-encrypted", "journey", static_cast<int>(Journey::kLocalEncrypted)},
    {"migrate", "journey", static_cast<int>(Journey::kQuickStart)},
    {"transfer from iPhone", "journey", static_cast<int>(Journey::kQuickStart)},
    {"device to device", "journey", static_cast<int>(Journey::kQuickStart)},
    {"restore from iCloud backup", "journey", static_cast<int>(Journey::kIcloudBackup)},
    {"sync", "journey", static_cast<int>(Journey::kIcloudKeychain)},
    {"iCloud Keychain sync", "journey", static_cast<int>(Journey::kIcloudKeychain)},
    {"same", "target", static_cast<int>(Target::kSameDevice)},
    {"new-device", "target", static_cast<int>(Target::kOtherDevice)},
    {"different", "target", static_cast<int>(Target::kOtherDevice)},
    {"kSecClassGenericPassword", "class", static_cast<int>(ItemClass::kGenp)},
    {"kSecClassInternetPassword", "class", static_cast<int>(ItemClass::kInet)},
    {"kSecClassCertificate", "class", static_cast<int>(ItemClass::kCert)},
    {"kSecClassKey", "class", static_cast<int>(ItemClass::kKeys)},
    {"kSecAttrTokenIDSecureEnclave", "token", static_cast<int>(Token::kSecureEnclave)},
    {"kSecSecAttrSysBoundPreserveDuringRestore", "sysb",
     static_cast<int>(SystemBound::kPreserveDuringRestore)},
    {"1", "sysb", static_cast<int>(SystemBound::kPreserveDuringRestore)},
    {"0", "sysb", static_cast<int>(SystemBound::kNone)},
    {"old-style", "ref", static_cast<int>(PersistentRefKind::kRowid)},
    {"12", "ref", static_cast<int>(PersistentRefKind::kRowid)},
    {"20", "ref", static_cast<int>(PersistentRefKind::kUuid)},
    {"yes", "switch", static_cast<int>(Switch::kOn)},
    {"false", "switch", static_cast<int>(Switch::kOff)},
};

// The value `text` parses to as `kind`, or the error.
Result<int> parse_as(std::string_view kind, std::string_view text) {
  auto as_int = [](auto r) -> Result<int> {
    if (!r.ok()) return r.status();
    return static_cast<int>(*r);
  };
  if (kind == "journey") return as_int(parse_journey(text));
  if (kind == "target") return as_int(parse_target(text));
  if (kind == "class") return as_int(parse_item_class(text));
  if (kind == "token") return as_int(parse_token(text));
  if (kind == "sysb") return as_int(parse_system_bound(text));
  if (kind == "ref") return as_int(parse_persistent_ref_kind(text));
  if (kind == "switch") return as_int(parse_switch(text));
  return as_int(parse_accessibility(text));
}

// Every spelling of every value: the canonical name of each enum, each accessibility's name,
// Apple constant and pdmn code, and the known words above.
std::vector<KnownSpelling> every_spelling() {
  static const std::vector<std::string> texts = [] {
    std::vector<std::string> t;
    for (Accessibility a : kAllAccessibilities) {
      t.emplace_back(names_of(a).name);
      t.emplace_back(names_of(a).constant);
      t.emplace_back(names_of(a).pdmn);
    }
    return t;
  }();
  std::vector<KnownSpelling> out(std::begin(kKnownSpellings), std::end(kKnownSpellings));
  size_t i = 0;
  for (Accessibility a : kAllAccessibilities) {
    for (int k = 0; k < 3; ++k)
      out.push_back({texts[i++], "accessibility", static_cast<int>(a)});
  }
  for (Journey j : kAllJourneys)
    out.push_back({name_of(j), "journey", static_cast<int>(j)});
  for (Target t : kAllTargets)
    out.push_back({name_of(t), "target", static_cast<int>(t)});
  for (ItemClass c : kAllItemClasses)
    out.push_back({name_of(c), "class", static_cast<int>(c)});
  for (SystemBound b : kAllSystemBounds)
    out.push_back({name_of(b), "sysb", static_cast<int>(b)});
  for (PersistentRefKind k : kAllPersistentRefKinds)
    out.push_back({name_of(k), "ref", static_cast<int>(k)});
  for (Switch s : {Switch::kOff, Switch::kOn})
    out.push_back({name_of(s), "switch", static_cast<int>(s)});
  return out;
}

RC_GTEST_PROP(Names, EverySpellingOfEveryNameParsesToItsValue, ()) {
  static const std::vector<KnownSpelling> spellings = every_spelling();
  const KnownSpelling s = *rc::gen::elementOf(spellings).as("spelling");
  const std::string text = *gen_spelling_of(s.text).as("as typed");
  auto parsed = parse_as(s.kind, text);
  if (!parsed.ok())
    RC_FAIL(std::string(s.kind) + " '" + text + "': " + parsed.status().to_string());
  RC_ASSERT(*parsed == s.value);
}

// Nothing, separators alone, or "iCloud" (two journeys that keep different items, R4 vs R6) name
// no value: refused, "iCloud" with both meanings.
RC_GTEST_PROP(Names, TextThatNamesNothingIsRefused, ()) {
  const std::string_view kind =
      *rc::gen::element<std::string_view>("journey", "target", "class", "token", "sysb", "ref",
                                          "switch", "accessibility")
           .as("kind");
  const std::string blank =
      *rc::gen::container<std::string>(rc::gen::element(' ', '-', '_', '.')).as("blank text");
  RC_ASSERT(!parse_as(kind, blank).ok());
  const std::string icloud = *gen_spelling_of("icloud").as("iCloud as typed");
  auto j = parse_journey(icloud);
  RC_ASSERT(!j.ok());
  RC_ASSERT(j.status().message().find("ambiguous") != std::string::npos);
}

// The flags column names exactly the flags an item has.
RC_GTEST_PROP(Names, TheFlagsTextNamesExactlyTheItemsFlags, ()) {
  const Traits t = *props::gen_traits().as("traits");
  std::set<std::string> expected;
  if (t.synchronizable) expected.insert("sync");
  if (t.token != Token::kNone) expected.insert(std::string(name_of(t.token)));
  if (t.auth_constraint) expected.insert("auth");
  if (t.system_bound != SystemBound::kNone) expected.insert("system-bound");
  if (t.app_clip) expected.insert("app-clip");
  if (t.tombstone) expected.insert("tombstone");
  const std::string text = flags_text(t);
  std::set<std::string> got;
  if (text != "-") {
    std::stringstream in(text);
    for (std::string part; std::getline(in, part, ',');)
      got.insert(part);
  }
  RC_ASSERT(got == expected);
}

}  // namespace
}  // namespace kcb
