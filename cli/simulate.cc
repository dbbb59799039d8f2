// `kcbackup simulate SCENARIO.json`: a scripted sequence of device operations over several
// simulated phones and one iCloud account, run through the harness's lockstep driver (engine with
// real cryptography beside the oracle's world model, every device compared after every step;
// include/kcbackup/lockstep.h). Exit 1 on any disagreement, 2 on a malformed scenario (the
// scenario language and its checks: include/kcbackup/scenario.h).
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/output.h"
#include "cli/seed.h"
#include "kcbackup/env.h"
#include "kcbackup/lockstep.h"
#include "kcbackup/render.h"
#include "kcbackup/scenario.h"

namespace kcb::cli {

struct SimulateOptions {
  std::string scenario;
  Format format = Format::kText;
  std::string seed = "1";
};

namespace {

Result<harness::Scenario> load_scenario(Env& env, const std::string& path) {
  KCB_ASSIGN_OR_RETURN(Bytes bytes, env.read_file(path, harness::kMaxScenarioBytes));
  auto scenario = harness::parse_scenario(bytes);
  if (!scenario.ok()) return scenario.status().with_context(path);
  return scenario;
}

}  // namespace

// Prints every step as it runs (text) or one document at the end (JSON); CheckFailed when engine
// and oracle disagreed anywhere.
Status run_simulate(const SimulateOptions& o, Env& env, std::ostream& out, std::ostream& /*err*/) {
  KCB_ASSIGN_OR_RETURN(auto random, random_for(o.seed));
  KCB_ASSIGN_OR_RETURN(harness::Scenario scenario, load_scenario(env, o.scenario));
  size_t disagreeing = 0;
  std::vector<render::SimulatedStep> steps;  // JSON: one document at the end
  auto each = [&](size_t i, const harness::StepResult& step, const harness::Holdings& holdings) {
    if (!step.mismatches.empty()) ++disagreeing;
    if (o.format == Format::kText) {
      out << render::simulate_step_text(i, step, use_colour());
    } else {
      steps.push_back({i, step, holdings});
    }
  };
  KCB_ASSIGN_OR_RETURN(harness::Holdings final_holdings,
                       harness::run_scenario(scenario, *random, each));
  const bool agree = disagreeing == 0;
  out << (o.format == Format::kJson ? render::simulate_json(o.scenario, steps, agree)
                                    : render::simulate_final_text(final_holdings, agree));
  if (agree) return Status::Ok();
  return Status::CheckFailed("engine and oracle disagree at " + std::to_string(disagreeing) +
                             " of " + std::to_string(scenario.steps.size()) + " steps");
}

void add_simulate_command(CLI::App& app, Status& status) {
  add_command(app, status, "simulate", run_simulate, [](CLI::App* cmd, SimulateOptions& o) {
    cmd->add_option("SCENARIO", o.scenario, "Scenario JSON (see examples/scenario-*.json)")
        ->required();
    add_format_option(cmd, &o.format, false);
    add_seed_option(cmd, &o.seed);
  });
}

}  // namespace kcb::cli
