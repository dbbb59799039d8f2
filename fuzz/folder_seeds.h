// Seeds for the backup folder's building blocks (fuzz targets manifest_db and mbfile), linked into
// kcb_make_seed_corpus (fuzz/make_seed_corpus.cc calls write_folder_seeds once).
#pragma once

#include <functional>
#include <string>

#include "kcbackup/bytes.h"

namespace kcb::fuzz {

// write(target, name, bytes) once per seed.
using SeedSink = std::function<void(const std::string& target, const std::string& name, ByteView)>;

// manifest_db: databases in Apple's schema with 512-byte pages (a few KB each) holding the
// keychain row, files, folders, symlinks and properties, one image from write_manifest_db itself,
// and refused neighbours (a trigger, a view, an extra table, an expression index, wrong types, a
// wrong fileID); plus file blobs encrypted under kClassKey for the cipher check. mbfile: records of
// every kind encode_mbfile writes and hand-built archives (wrappers, UID hops, unknown fields) and
// their refused neighbours (UID past $objects, cycles, another $version, a key of 43 bytes).
void write_folder_seeds(const SeedSink& write);

}  // namespace kcb::fuzz
