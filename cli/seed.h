// --seed for the commands that draw randomness (UIDs, class keys, item keys, salts): without it a
// command uses the system's randomness; with it, the same command line writes the same bytes, which
// makes simulations and the examples in docs/cli.md reproducible. A seed protects nothing.
#pragma once

#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "kcbackup/random.h"
#include "kcbackup/status.h"

namespace kcb::cli {

void add_seed_option(CLI::App* cmd, std::string* seed);
// make_random(seed) with its error naming --seed.
Result<std::unique_ptr<Random>> random_for(const std::string& seed);

}  // namespace kcb::cli
