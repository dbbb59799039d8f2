// The reports of `inspect keybag|blob|archive`: what is inside the bytes (kcbackup/inspection.h
// decides it), as text or JSON (kcbackup/render.h says how and why). Keys and secrets appear only
// with show_secrets. Pure: nothing is printed.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "kcbackup/archive.h"
#include "kcbackup/backup_folder.h"
#include "kcbackup/der.h"
#include "kcbackup/inspection.h"
#include "kcbackup/render.h"

namespace kcb::render {

// `inspect keybag FILE`: the header, which keys opened it and each class; `manifest` when FILE was
// a Manifest.plist, `bytes` the keybag's size.
std::string keybag_report(const std::string& file, const std::optional<Manifest>& manifest,
                          size_t bytes, const InspectedKeybag& bag, bool show_secrets, Style style);

// `inspect blob FILE`: the header, and the attributes when a class key opened it.
std::string blob_report(const std::string& file, size_t bytes, const BlobFacts& blob,
                        const std::optional<DerDict>& attributes, bool show_secrets, Format format);

// `inspect archive FILE`: every entry of a keychain-backup.plist, and (JSON) each decoded item's
// fate on every journey.
std::string archive_report(const std::string& file, const KeychainArchive& archive,
                           const std::vector<ArchiveEntry>& entries, Format format);

}  // namespace kcb::render
