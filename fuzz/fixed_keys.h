// The fixed secrets shared by the fuzz targets and the seed generator, so that seeds made by
// scripts/make-seed-corpus open in the targets (deterministic mode: no clock, no system RNG).
#pragma once

#include <array>
#include <cstdint>

namespace kcb::fuzz {

// item_blob opens every blob with this class key; the seed blobs are sealed under it.
inline constexpr std::array<uint8_t, 32> kClassKey = {
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
    0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f};

// keybag unlocks every bag with this password and device key (key 0x835).
inline constexpr std::array<uint8_t, 8> kPassword = {'p', 'a', 's', 's', 'w', 'o', 'r', 'd'};
inline constexpr std::array<uint8_t, 16> kDeviceKey = {
    0x83, 0x5f, 0x83, 0x5f, 0x83, 0x5f, 0x83, 0x5f, 0x83, 0x5f, 0x83, 0x5f, 0x83, 0x5f, 0x83, 0x5f};

// Every Random a target needs is make_seeded_random(kSeed): the same input always runs the same.
inline constexpr uint64_t kSeed = 0x6b6362;  // "kcb"

}  // namespace kcb::fuzz
