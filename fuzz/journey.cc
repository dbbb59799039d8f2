// Fuzz target journey: the agreement property (properties/agreement_props.cc) driven by fuzzer
// bytes. FuzzedDataProvider picks a seed, device settings, a journey and a target, a backup
// password and 1..6 items (traits, account tag, secret); the engine runs the journey for real
// (seeded source device, real adds, backup/restore, Quick Start, iCloud Keychain as an account the
// devices join) and for every item its outcome and road must equal oracle::predict's.
//
// The engine's answer is read as in the property: outcome = the item is readable on the target
// with its class and secret; road = backup when the restore report says restored, else
// icloud-keychain. iCloud Keychain is on when the settings say on, and for the icloud-keychain
// journey when they leave it unspecified.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/backup.h"
#include "engine/icloud_keychain.h"
#include "model/names.h"
#include "oracle/predict.h"

namespace kcb::fuzz {
namespace {

constexpr std::string_view kEscrow = "apple-id-secret";
constexpr size_t kMaxItems = 6;
constexpr size_t kMaxSecret = 96;

struct ItemSpec {
  Traits traits;
  std::string account;
  Bytes secret;
};

struct Case {
  uint64_t seed = 0;
  DeviceSettings settings;
  Journey journey = Journey::kLocal;
  Target target = Target::kSameDevice;
  std::string password;  // never empty: local-encrypted needs one
  std::vector<ItemSpec> items;
};

struct Run {
  std::unique_ptr<Random> random;
  std::unique_ptr<Device> source;
  std::unique_ptr<Device> fresh;  // the other device, when there is one
  std::optional<CloudAccount> account;
  std::map<std::string, bool> restored_by_backup;  // account -> the report said restored
};

std::string describe(const Traits& t) {
  return "{" + std::string(names_of(t.accessible).pdmn) + " " + std::string(name_of(t.item_class)) +
         (t.synchronizable ? " sync" : "") + (t.token == Token::kSecureEnclave ? " token" : "") +
         (t.auth_constraint ? " auth" : "") + (t.system_bound ? " sysb" : "") + "}";
}

std::string describe(const Case& c) {
  return "journey " + std::string(name_of(c.journey)) + ", target " +
         std::string(name_of(c.target)) + ", passcode " + (c.settings.passcode ? "on" : "off") +
         ", icloud-keychain " + std::string(name_of(c.settings.icloud_keychain)) + ", " +
         std::to_string(c.items.size()) + " item(s), seed " + std::to_string(c.seed);
}

// A disagreement or an engine failure on a valid run: print what and where, then abort so that
// libFuzzer keeps the input.
[[noreturn]] void fail(const Case& c, const std::string& what) {
  std::fprintf(stderr, "journey: %s\n  case: %s\n", what.c_str(), describe(c).c_str());
  std::abort();
}

void require_ok(const Case& c, const Status& status, const char* step) {
  if (!status.ok()) fail(c, std::string(step) + ": " + status.to_string());
}

// Printable ASCII only: the engine takes acct as a UTF-8 string.
std::string account_tag(FuzzedDataProvider& in) {
  std::string tag = in.ConsumeRandomLengthString(8);
  for (char& ch : tag) {
    if (ch < 0x20 || ch > 0x7e) ch = static_cast<char>('a' + static_cast<unsigned char>(ch) % 26);
  }
  return tag;
}

Traits consume_traits(FuzzedDataProvider& in) {
  Traits t;
  t.accessible = in.PickValueInArray(kAllAccessibilities);
  t.item_class = in.PickValueInArray(kAllItemClasses);
  const uint8_t flags = in.ConsumeIntegral<uint8_t>();
  t.synchronizable = (flags & 1) != 0;
  t.token = (flags & 2) != 0 ? Token::kSecureEnclave : Token::kNone;
  t.auth_constraint = (flags & 4) != 0;
  t.system_bound = (flags & 8) != 0;
  return t;
}

Case consume_case(FuzzedDataProvider& in) {
  Case c;
  c.seed = in.ConsumeIntegral<uint64_t>();
  c.settings.passcode = in.ConsumeIntegralInRange<int>(0, 3) != 0;  // on 3 times in 4
  c.settings.icloud_keychain =
      in.PickValueInArray({Switch::kOff, Switch::kOn, Switch::kUnspecified});
  c.journey = in.PickValueInArray(kAllJourneys);
  const bool other_only =
      c.journey == Journey::kQuickStart || c.journey == Journey::kIcloudKeychain;
  c.target = other_only ? Target::kOtherDevice : in.PickValueInArray(kAllTargets);
  c.password = in.ConsumeRandomLengthString(32);
  if (c.password.empty()) c.password = "p";
  const size_t n = in.ConsumeIntegralInRange<size_t>(1, kMaxItems);
  for (size_t i = 0; i < n; ++i) {
    ItemSpec spec;
    spec.traits = consume_traits(in);
    spec.account = "item-" + std::to_string(i) + "-" + account_tag(in);
    spec.secret = in.ConsumeBytes<uint8_t>(in.ConsumeIntegralInRange<size_t>(0, kMaxSecret));
    c.items.push_back(std::move(spec));
  }
  return c;
}

NewItem new_item_of(const ItemSpec& s) {
  NewItem n;
  n.item_class = s.traits.item_class;
  n.accessible = s.traits.accessible;
  n.synchronizable = s.traits.synchronizable;
  n.token = s.traits.token;
  n.auth_constraint = s.traits.auth_constraint;
  n.system_bound = s.traits.system_bound;
  n.account = s.account;
  n.service = "fuzz";
  n.label = s.account;  // cert and keys are unique by label, not account
  n.secret = SecretBytes(ByteView(s.secret));
  return n;
}

std::unique_ptr<Device> new_device(const Case& c, Random& random) {
  auto d = Device::create_in_memory({c.settings.passcode, false, std::nullopt}, random);
  require_ok(c, d.status(), "create device");
  return std::move(d).value();
}

bool engine_icloud_on(const Case& c) {
  return c.settings.icloud_keychain == Switch::kOn ||
         (c.settings.icloud_keychain == Switch::kUnspecified &&
          c.journey == Journey::kIcloudKeychain);
}

void note_report(const Case& c, const Result<RestoreReport>& report, Run& run) {
  require_ok(c, report.status(), "restore");
  for (const ItemFate& f : report->items) {
    if (f.restored) run.restored_by_backup[f.account] = true;
  }
}

// Runs the journey and returns the device the items should arrive on.
Device& run_journey(const Case& c, Run& run) {
  Random& r = *run.random;
  if (c.journey == Journey::kQuickStart) {
    run.fresh = new_device(c, r);
    note_report(c, quick_start(*run.source, *run.fresh, kFastKdf, r), run);
    return *run.fresh;
  }
  if (c.journey == Journey::kIcloudKeychain) {
    run.fresh = new_device(c, r);
    return *run.fresh;
  }
  const std::string password = c.journey == Journey::kLocalEncrypted ? c.password : "";
  auto bundle = make_backup(*run.source, {c.journey, password, kFastKdf}, r);
  require_ok(c, bundle.status(), "backup");
  Device* onto = run.source.get();
  if (c.target == Target::kSameDevice) {
    require_ok(c, run.source->erase(r), "erase");
  } else {
    run.fresh = new_device(c, r);
    onto = run.fresh.get();
  }
  note_report(c, restore_backup(*bundle, *onto, {password, {}}, r), run);
  return *onto;
}

Verdict engine_verdict(const ItemSpec& spec, const std::vector<StoredItem>& on_target,
                       const Run& run) {
  Verdict v;
  for (const StoredItem& s : on_target) {
    const std::string account(s.item.account().begin(), s.item.account().end());
    if (account != spec.account) continue;
    if (s.item.item_class() != spec.traits.item_class) continue;
    if (s.item.secret() != SecretBytes(ByteView(spec.secret))) continue;
    v.outcome = Outcome::kRestored;
    v.road = run.restored_by_backup.count(spec.account) ? Road::kBackup : Road::kIcloudKeychain;
  }
  return v;
}

void add_items(const Case& c, Run& run) {
  for (const ItemSpec& spec : c.items) {
    const AddError expected = oracle::check_add(spec.traits, c.settings.passcode);
    const AddError got = sec_error_of(run.source->add(new_item_of(spec), *run.random).status());
    if (got != expected) {
      fail(c, "add " + spec.account + " " + describe(spec.traits) + ": engine " +
                  std::string(name_of(got)) + ", oracle " + std::string(name_of(expected)));
    }
  }
}

void check_agreement(const Case& c) {
  Run run;
  run.random = make_seeded_random(c.seed);
  Random& r = *run.random;
  const bool on = engine_icloud_on(c);
  run.source = new_device(c, r);
  if (on) {
    auto account = CloudAccount::create(kEscrow, r);
    require_ok(c, account.status(), "create account");
    run.account.emplace(std::move(account).value());
    require_ok(c, run.account->join(*run.source, kEscrow, r), "join source");
  }
  add_items(c, run);
  if (on) require_ok(c, run.account->sync(*run.source, r).status(), "sync source");

  Device& onto = run_journey(c, run);
  if (on) require_ok(c, run.account->join(onto, kEscrow, r), "join target");
  auto listed = onto.list();
  require_ok(c, listed.status(), "list target");

  for (const ItemSpec& spec : c.items) {
    auto predicted = oracle::predict({spec.traits, c.journey, c.target, c.settings});
    require_ok(c, predicted.status(), "predict");
    const Verdict got = engine_verdict(spec, *listed, run);
    if (got.outcome != predicted->outcome || got.road != predicted->road) {
      fail(c, "item " + spec.account + " " + describe(spec.traits) + ": engine " +
                  std::string(name_of(got.outcome)) + " via " + std::string(name_of(got.road)) +
                  ", oracle " + std::string(name_of(predicted->outcome)) + " via " +
                  std::string(name_of(predicted->road)));
    }
  }
}

}  // namespace
}  // namespace kcb::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  kcb::fuzz::check_agreement(kcb::fuzz::consume_case(in));
  return 0;
}
