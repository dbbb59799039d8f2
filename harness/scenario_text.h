// How the harness shows names and bytes that came from a scenario or a device in its messages:
// printable UTF-8 as it is, control characters as \xNN, anything else as 0x<hex> (the same reading
// as the CLI's display_text, so a message quotes a name the way `kcbackup` prints it).
#pragma once

#include <string>
#include <string_view>

namespace kcb::harness {

std::string shown(std::string_view text);

}  // namespace kcb::harness
