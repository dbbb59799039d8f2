#include "cli/seed.h"

#include <charconv>

namespace kcb::cli {

void add_seed_option(CLI::App* cmd, std::string* seed) {
  cmd->add_option("--seed", *seed,
                  "Deterministic randomness from this number (reproducible runs; protects "
                  "nothing)");
}

Result<std::unique_ptr<Random>> random_for(const std::string& seed) {
  if (seed.empty()) return make_system_random();
  uint64_t n = 0;
  const auto [end, ec] = std::from_chars(seed.data(), seed.data() + seed.size(), n);
  if (ec != std::errc() || end != seed.data() + seed.size()) {
    return Status::InvalidArgument("--seed: '" + seed +
                                   "' is not a whole number from 0 to 18446744073709551615");
  }
  return make_seeded_random(n);
}

}  // namespace kcb::cli
