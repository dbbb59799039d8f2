// The harness: scenarios survive a write and a read unchanged; the lockstep driver names every
// difference planted between the model and the engine (device, item, field, both values); a
// scenario written from a list of steps (what the stateful property does with a counterexample)
// replays through the parser and the driver.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <iterator>

#include "kcbackup/journey.h"
#include "kcbackup/lockstep.h"
#include "kcbackup/random.h"
#include "kcbackup/scenario.h"

namespace kcb::harness {

// gtest prints values it cannot compare this way (found by argument lookup).
void PrintTo(const Mismatch& m, std::ostream* os) {
  *os << describe(m);
}
void PrintTo(const Scenario& s, std::ostream* os) {
  *os << write_scenario(s);
}

namespace {

std::string example(const char* name) {
  const char* root = std::getenv("KCB_SOURCE_DIR");
  std::ifstream in(std::string(root ? root : ".") + "/examples/" + name, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

Step add(size_t device, std::string account, Traits traits = {}, std::string secret = "s") {
  Step s;
  s.op = Op::kAdd;
  s.device = device;
  s.account = std::move(account);
  s.traits = traits;
  s.secret = std::move(secret);
  return s;
}

Step on_device(Op op, size_t device, bool on = true) {
  Step s;
  s.op = op;
  s.device = device;
  s.on = on;
  return s;
}

// Every kind of step, with fields away from their defaults where a kind has them.
Scenario every_kind_of_step() {
  Scenario s;
  s.description = "every step \"quoted\" \\ and\ttabbed";
  s.devices = {{"old", true, true}, {"new", false, false}};
  Traits t{Accessibility::kAfterFirstUnlock,
           ItemClass::kInet,
           true,
           Token::kNone,
           false,
           SystemBound::kPreserveDuringRestore,
           true,
           true};
  s.steps.push_back(add(0, "a", t, "text secret"));
  s.steps.push_back(add(0, "binary", {}, std::string("\xff\x00\x80", 3)));
  s.steps.push_back(
      add(1, "nul", {}, std::string("a\0b", 3)));  // UTF-8, but the reader refuses NUL
  s.steps.push_back(add(0, "key",
                        {Accessibility::kWhenPasscodeSetThisDeviceOnly, ItemClass::kKeys, false,
                         Token::kSecureEnclave, true, SystemBound::kNone}));
  Step del;
  del.op = Op::kDelete;
  del.account = "a";
  s.steps.push_back(del);
  s.steps.push_back(on_device(Op::kPasscode, 1, false));
  s.steps.push_back(on_device(Op::kIcloudKeychain, 1, true));
  s.steps.push_back(on_device(Op::kIcloudKeychainSwitch, 0, false));
  Step backup;
  backup.op = Op::kBackup;
  backup.name = "finder";
  backup.journey = Journey::kLocalEncrypted;
  backup.password = "correct horse";
  s.steps.push_back(backup);
  Step plain = backup;
  plain.name = "nightly";
  plain.journey = Journey::kIcloudBackup;
  plain.password = "";
  s.steps.push_back(plain);
  Step restore;
  restore.op = Op::kRestore;
  restore.backup = 1;
  restore.device = 1;
  s.steps.push_back(restore);
  restore.backup = 0;
  restore.password = "wrong";
  s.steps.push_back(restore);
  Step migrate;
  migrate.op = Op::kMigrate;
  migrate.device = 0;
  migrate.name = "replacement";
  migrate.passcode = false;
  s.steps.push_back(migrate);
  s.steps.push_back(on_device(Op::kErase, 2));
  s.steps.push_back(Step{});  // sync
  return s;
}

TEST(Scenario, WriteThenParseGivesTheSameScenario) {
  const Scenario s = every_kind_of_step();
  const std::string text = write_scenario(s);
  auto back = parse_scenario(as_bytes(text));
  ASSERT_TRUE(back.ok()) << back.status().to_string() << "\n" << text;
  EXPECT_EQ(*back, s) << text;
  EXPECT_NE(text.find("\"secret_hex\": \"ff0080\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"secret_hex\": \"610062\""), std::string::npos) << text;
  EXPECT_EQ(write_scenario(*back), text);
}

TEST(Scenario, ExamplesSurviveAWriteAndARead) {
  for (const char* name : {"scenario-new-phone.json", "scenario-passcode-and-quick-start.json"}) {
    auto parsed = parse_scenario(as_bytes(example(name)));
    ASSERT_TRUE(parsed.ok()) << name << ": " << parsed.status().to_string();
    EXPECT_GT(parsed->steps.size(), 5u);
    auto again = parse_scenario(as_bytes(write_scenario(*parsed)));
    ASSERT_TRUE(again.ok()) << again.status().to_string();
    EXPECT_EQ(*again, *parsed) << name;
  }
}

TEST(Scenario, SecretAndSecretHexAreExclusiveAndHexIsChecked) {
  const std::string head =
      R"({"devices": [{"name": "a"}], "steps": [{"do": "add", "device": "a", )";
  auto both =
      parse_scenario(as_bytes(head + R"("account": "x", "secret": "s", "secret_hex": "00"}]})"));
  ASSERT_FALSE(both.ok());
  EXPECT_EQ(both.status().message(), "steps[0].secret_hex: give secret or secret_hex, not both");
  auto odd = parse_scenario(as_bytes(head + R"("account": "x", "secret_hex": "abc"}]})"));
  ASSERT_FALSE(odd.ok());
  EXPECT_NE(odd.status().message().find("steps[0].secret_hex: not hexadecimal"), std::string::npos);
  auto defaulted = parse_scenario(as_bytes(head + R"("account": "x"}]})"));
  ASSERT_TRUE(defaulted.ok());
  EXPECT_EQ(defaulted->steps[0].secret, "secret of x");
}

class Driver : public ::testing::Test {
 protected:
  void SetUp() override {
    auto started = Lockstep::start({{"d0", true, false}, {"d1", true, false}}, *random_);
    ASSERT_TRUE(started.ok()) << started.status().to_string();
    driver_ = std::move(started).value();
    auto added = driver_->apply(add(0, "x"));
    ASSERT_TRUE(added.ok());
    ASSERT_TRUE(added->mismatches.empty()) << describe(added->mismatches.front());
  }
  std::vector<Mismatch> compared() {
    auto m = driver_->compare();
    EXPECT_TRUE(m.ok());
    return m.ok() ? *m : std::vector<Mismatch>{};
  }
  oracle::World& model() { return driver_->model().world(); }

  std::unique_ptr<Random> random_ = make_seeded_random(7);
  std::unique_ptr<Lockstep> driver_;
};

TEST_F(Driver, AgreesWhenNothingIsPlanted) {
  EXPECT_TRUE(compared().empty());
}

TEST_F(Driver, AModelStepTheEngineDidNotTakeIsAPasscodeMismatch) {
  model().set_passcode(1, false);
  EXPECT_EQ(compared(), (std::vector<Mismatch>{{"d1", "", Field::kPasscode, "on", "off"}}));
}

TEST_F(Driver, AnItemOnlyTheModelHoldsIsLostByTheEngine) {
  model().add_item(1, {Traits{}, "ghost", "g"});
  const std::vector<Mismatch> want{{"d1", "ghost", Field::kPresence, "absent", "present"}};
  ASSERT_EQ(compared(), want);
  EXPECT_EQ(describe(want[0]), "d1: oracle expects 'ghost', engine lost it");
}

TEST_F(Driver, AnItemTheModelDroppedIsOneTheEngineKept) {
  model().remove_item(0, "x");
  const std::vector<Mismatch> want{{"d0", "x", Field::kPresence, "present", "absent"}};
  ASSERT_EQ(compared(), want);
  EXPECT_EQ(describe(want[0]), "d0: engine has 'x', oracle expects it lost");
}

TEST_F(Driver, OtherTraitsAndAnotherSecretAreNamedByField) {
  model().remove_item(0, "x");
  model().add_item(0, {Traits{Accessibility::kAfterFirstUnlock}, "x", "other"});
  EXPECT_EQ(compared(),
            (std::vector<Mismatch>{{"d0", "x", Field::kTraits, "{ak genp}", "{ck genp}"},
                                   {"d0", "x", Field::kSecret, "1 bytes", "5 bytes"}}));
}

TEST_F(Driver, AJoinOnlyTheModelMadeShowsInSettingsAndInTheNextSync) {
  model().set_icloud_keychain(0, true);
  EXPECT_EQ(compared(),
            (std::vector<Mismatch>{{"d0", "", Field::kIcloudKeychain, "off", "on"},
                                   {"d0", "", Field::kMember, "not a member", "member"}}));
  auto synced = driver_->apply(Step{});
  ASSERT_TRUE(synced.ok());
  ASSERT_FALSE(synced->mismatches.empty());
  EXPECT_EQ(synced->mismatches[0], (Mismatch{"d0", "", Field::kSync, "refused", "synced"}));
  EXPECT_EQ(synced->line, "sync");
}

TEST_F(Driver, AnAddAnswerTheModelDisagreesWithIsAnAddMismatch) {
  // The model already holds "y" on d1, so it answers errSecDuplicateItem; the engine adds it.
  model().add_item(1, {Traits{}, "y", "s"});
  auto added = driver_->apply(add(1, "y"));
  ASSERT_TRUE(added.ok());
  ASSERT_FALSE(added->mismatches.empty());
  EXPECT_EQ(added->mismatches[0],
            (Mismatch{"d1", "y", Field::kAdd, "errSecSuccess", "errSecDuplicateItem"}));
  EXPECT_EQ(describe(added->mismatches[0]),
            "add 'y': oracle expects errSecDuplicateItem, engine returned errSecSuccess");
}

// What the stateful property does with a counterexample: its steps written as a scenario, which
// the parser reads back unchanged and the driver replays.
TEST(Replay, AScenarioWrittenFromStepsReplaysThroughTheParserAndTheDriver) {
  Scenario s;
  s.devices = {{"d0", true, false}, {"d1", false, false}, {"d2", true, false}};
  Traits synced{Accessibility::kAfterFirstUnlock, ItemClass::kGenp, true};
  s.steps = {add(0, "acct-1", synced, std::string("\x01\xfe", 2)),
             on_device(Op::kIcloudKeychain, 0),
             Step{},
             on_device(Op::kIcloudKeychain, 2),
             Step{},
             add(1, "acct-2", {Accessibility::kWhenPasscodeSetThisDeviceOnly}),
             on_device(Op::kIcloudKeychainSwitch, 2, false),
             Step{}};
  const std::string text = write_scenario(s);
  auto parsed = parse_scenario(as_bytes(text));
  ASSERT_TRUE(parsed.ok()) << parsed.status().to_string();
  ASSERT_EQ(*parsed, s);
  auto random = make_seeded_random(11);
  size_t steps = 0;
  auto final_holdings =
      run_scenario(*parsed, *random, [&](size_t, const StepResult& r, const Holdings&) {
        ++steps;
        EXPECT_TRUE(r.mismatches.empty()) << r.line << ": " << describe(r.mismatches.front());
      });
  ASSERT_TRUE(final_holdings.ok()) << final_holdings.status().to_string();
  EXPECT_EQ(steps, s.steps.size());
  // R6: the synced item reached d2; akpu needs a passcode, which d1 lacks.
  EXPECT_EQ(*final_holdings, (Holdings{{"d0", {"acct-1"}}, {"d1", {}}, {"d2", {"acct-1"}}}));
}

TEST(Journey, ARunReportsEveryItemAndTheTargetsAccounts) {
  JourneyCase c;
  c.seed = 3;
  c.journey = Journey::kLocalEncrypted;
  c.target = Target::kOtherDevice;
  c.password = "pw";
  c.items = {{Traits{Accessibility::kAfterFirstUnlock}, "moves", {1}},
             {Traits{Accessibility::kAfterFirstUnlockThisDeviceOnly}, "stays", {2}}};
  auto run = run_journey_case(c);
  ASSERT_TRUE(run.ok()) << run.status().to_string();
  EXPECT_EQ(run->verdicts[0].outcome, Outcome::kRestored);
  EXPECT_EQ(run->verdicts[0].road, Road::kBackup);
  EXPECT_EQ(run->verdicts[1].outcome, Outcome::kLost);
  EXPECT_EQ(run->target_accounts, std::vector<std::string>{"moves"});
  c.wrong_restore_password = "pw?";
  auto refused = run_journey_case(c);
  ASSERT_TRUE(refused.ok()) << refused.status().to_string();
  EXPECT_TRUE(refused->restore_refused);
  EXPECT_TRUE(refused->target_accounts.empty());
}

}  // namespace
}  // namespace kcb::harness
