#include "cli/seed.h"

namespace kcb::cli {

void add_seed_option(CLI::App* cmd, std::string* seed) {
  cmd->add_option("--seed", *seed,
                  "Deterministic randomness from this number (reproducible runs; protects "
                  "nothing)");
}

Result<std::unique_ptr<Random>> random_for(const std::string& seed) {
  auto random = make_random(seed);
  if (!random.ok()) return random.status().with_context("--seed");
  return random;
}

}  // namespace kcb::cli
