// Fuzz target journey: the agreement property (properties/agreement_props.cc) driven by fuzzer
// bytes. FuzzedDataProvider picks a seed, device settings, a journey and a target, a backup
// password and 1..6 items (traits, account tag, secret); the harness's journey runner
// (kcbackup/journey.h) runs the journey through the engine for real, and every add must answer what
// oracle::check_add expects and every item's outcome and road must equal oracle::predict's.
//
// The fixture: the simulated devices' keychain stores come from the engine's per-thread pool
// (KeychainStore::open_in_memory), built once per process and emptied when a case's devices go
// away, so an input pays for its own SQL only (tests/device_reuse_test.cc checks that a reused
// store answers like a new one; KCB_BASELINE_SETUP=1 brings back a fresh schema per device).
// KCB_JOURNEY_VERDICTS=FILE appends one line per input (the case and each item's engine verdict),
// so that `fuzz_journey -runs=0 DIR` and `replay_journey DIR` can be shown to agree
// (scripts/fuzz-speed).
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "engine/pooled_memory.h"
#include "kcbackup/journey.h"
#include "kcbackup/names.h"
#include "kcbackup/oracle.h"

namespace kcb::fuzz {
namespace {

constexpr size_t kMaxItems = 6;
constexpr size_t kMaxSecret = 96;

using harness::ItemSpec;
using Case = harness::JourneyCase;

std::string describe(const Traits& t) {
  return "{" + std::string(names_of(t.accessible).pdmn) + " " + std::string(name_of(t.item_class)) +
         (t.synchronizable ? " sync" : "") + (t.token == Token::kSecureEnclave ? " token" : "") +
         (t.auth_constraint ? " auth" : "") +
         (t.system_bound != SystemBound::kNone ? " sysb" : "") + "}";
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
  t.system_bound = (flags & 8) != 0 ? SystemBound::kPreserveDuringRestore : SystemBound::kNone;
  return t;
}

Case consume_case(FuzzedDataProvider& in) {
  Case c;
  c.seed = in.ConsumeIntegral<uint64_t>();
  c.settings.passcode = in.ConsumeIntegralInRange<int>(0, 3) != 0;  // on 3 times in 4
  c.settings.icloud_keychain =
      in.PickValueInArray({Switch::kOff, Switch::kOn, Switch::kUnspecified});
  c.journey = in.PickValueInArray(kAllJourneys);
  c.target =
      has_same_device_form(c.journey) ? in.PickValueInArray(kAllTargets) : Target::kOtherDevice;
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

// KCB_JOURNEY_VERDICTS, opened once (nullptr when unset).
std::FILE* verdict_log() {
  static std::FILE* log = [] {
    const char* path = std::getenv("KCB_JOURNEY_VERDICTS");
    return path != nullptr ? std::fopen(path, "a") : nullptr;
  }();
  return log;
}

void log_verdicts(const Case& c, const harness::JourneyResult& run) {
  std::FILE* log = verdict_log();
  if (log == nullptr) return;
  std::string line = describe(c);
  for (size_t i = 0; i < c.items.size(); ++i) {
    line += " | " + c.items[i].account + " " + describe(c.items[i].traits) + " add " +
            std::string(name_of(run.add_errors[i])) + " -> " +
            std::string(name_of(run.verdicts[i].outcome)) + " via " +
            std::string(name_of(run.verdicts[i].road));
  }
  std::fprintf(log, "%s\n", line.c_str());
  std::fflush(log);
}

void check_agreement(const Case& c) {
  auto run = harness::run_journey_case(c);
  require_ok(c, run.status(), "engine run");
  log_verdicts(c, *run);
  for (size_t i = 0; i < c.items.size(); ++i) {
    const ItemSpec& spec = c.items[i];
    const AddError expected = oracle::check_add(spec.traits, c.settings.passcode);
    if (run->add_errors[i] != expected) {
      fail(c, "add " + spec.account + " " + describe(spec.traits) + ": engine " +
                  std::string(name_of(run->add_errors[i])) + ", oracle " +
                  std::string(name_of(expected)));
    }
    auto predicted = oracle::predict({spec.traits, c.journey, c.target, c.settings});
    require_ok(c, predicted.status(), "predict");
    const Verdict& got = run->verdicts[i];
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

// SQLite's and OpenSSL's memory from free lists (engine/pooled_memory.h): this target's SQLite
// reads only databases the engine wrote.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  kcb::use_pooled_library_memory();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  kcb::fuzz::check_agreement(kcb::fuzz::consume_case(in));
  return 0;
}
