// Agreement: for generated items, journey, target and settings, the engine's per-item outcome and
// road equal oracle::predict's, and SecItemAdd answers what oracle::check_add expects. The engine
// side is a real run (kcbackup/journey.h says how it is driven and how its answer is read).
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <sstream>

#include "kcbackup/journey.h"
#include "kcbackup/oracle.h"
#include "properties/generators.h"

namespace kcb {
namespace {

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
  RC_TAG(std::string(name_of(c.journey)), std::string(name_of(c.target)));
}

}  // namespace
}  // namespace kcb
