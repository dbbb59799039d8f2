// The C++ side of the folder building-block interop check (tests/interop/folder_blocks.py): writes
// and reads Manifest.db + MBFile records + encrypted file blobs with the engine's modules
// (engine/manifest_db.h, engine/mbfile.h, engine/file_crypto.h), so an independent Python
// implementation can check both directions. Not a user command: the real folder writer and
// reader (issue 13) are not wired in yet.
//
//   folder_blocks_tool write SPEC.json DIR   files of SPEC (domain, path, flags, protection_class,
//                                            content_hex) as a folder: DIR/Manifest.db encrypted
//                                            under SPEC's manifest_key, DIR/xx/<fileID> blobs
//                                            under fresh file keys wrapped with SPEC's class_key
//   folder_blocks_tool read SPEC.json DIR    the folder's files as JSON on stdout (same fields)
//
// Exit 0 on success, 2 on invalid input (message on stderr).
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "engine/crypto.h"
#include "engine/file_crypto.h"
#include "engine/manifest_db.h"
#include "engine/mbfile.h"
#include "kcbackup/env.h"
#include "kcbackup/random.h"

namespace kcb {
namespace {

constexpr size_t kMaxFileBytes = size_t{64} << 20;

struct Spec {
  Bytes manifest_key, class_key;
  nlohmann::json files;
};

Result<Bytes> hex_field(const nlohmann::json& j, const char* key) {
  Bytes out;
  if (!j.contains(key) || !j[key].is_string() || !from_hex(j[key].get<std::string>(), &out)) {
    return Status::InvalidArgument(std::string("spec: ") + key + ": expected a hex string");
  }
  return out;
}

Result<Spec> read_spec(Env& env, const std::filesystem::path& path) {
  KCB_ASSIGN_OR_RETURN(Bytes bytes, env.read_file(path, 1 << 20));
  const auto j = nlohmann::json::parse(bytes.begin(), bytes.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::InvalidArgument("spec: not a JSON object");
  Spec s;
  KCB_ASSIGN_OR_RETURN(s.manifest_key, hex_field(j, "manifest_key"));
  KCB_ASSIGN_OR_RETURN(s.class_key, hex_field(j, "class_key"));
  s.files = j.value("files", nlohmann::json::array());
  return s;
}

std::filesystem::path blob_path(const std::filesystem::path& dir, const std::string& id) {
  return dir / id.substr(0, 2) / id;
}

Status write_folder(Env& env, const Spec& spec, const std::filesystem::path& dir) {
  auto random = make_seeded_random(13);
  ManifestDb manifest;
  for (const auto& f : spec.files) {
    ManifestFile row{f.at("domain").get<std::string>(),
                     f.at("path").get<std::string>(),
                     f.at("flags").get<uint32_t>(),
                     {}};
    MBFile record;
    record.relative_path = row.relative_path;
    record.protection_class = f.at("protection_class").get<uint32_t>();
    record.mode = row.flags == kManifestDirectory ? 040755 : 0100644;
    record.birth = record.last_modified = record.last_status_change = random->now_unix_seconds();
    if (row.flags == kManifestFile) {
      KCB_ASSIGN_OR_RETURN(Bytes content, hex_field(f, "content_hex"));
      record.size = content.size();
      SecretBytes file_key(kFileKeySize);
      random->fill(file_key.span());
      KCB_ASSIGN_OR_RETURN(Bytes wrapped, aes_key_wrap(spec.class_key, file_key.view()));
      record.encryption_key = FileEncryptionKey{record.protection_class, wrapped};
      KCB_ASSIGN_OR_RETURN(Bytes blob, encrypt_file_blob(file_key.view(), content));
      const std::string id = file_id_of(row.domain, row.relative_path);
      KCB_RETURN_IF_ERROR(env.create_dirs(dir / id.substr(0, 2)));
      KCB_RETURN_IF_ERROR(env.write_file(blob_path(dir, id), blob));
    }
    row.file = encode_mbfile(record);
    manifest.files.push_back(std::move(row));
  }
  KCB_ASSIGN_OR_RETURN(Bytes db, write_manifest_db(manifest));
  KCB_ASSIGN_OR_RETURN(Bytes encrypted, encrypt_file_blob(spec.manifest_key, db));
  return env.write_file(dir / "Manifest.db", encrypted);
}

Result<nlohmann::json> read_folder(Env& env, const Spec& spec, const std::filesystem::path& dir) {
  KCB_ASSIGN_OR_RETURN(Bytes encrypted, env.read_file(dir / "Manifest.db", size_t{1} << 30));
  KCB_ASSIGN_OR_RETURN(SecretBytes db,
                       decrypt_file_blob(spec.manifest_key, encrypted, "Manifest.db"));
  KCB_ASSIGN_OR_RETURN(ManifestDb manifest, read_manifest_db(db.view()));
  nlohmann::json files = nlohmann::json::array();
  for (const ManifestFile& row : manifest.files) {
    const std::string id = file_id_of(row.domain, row.relative_path);
    const std::string what = row.domain + "-" + row.relative_path + " (fileID " + id + ")";
    KCB_ASSIGN_OR_RETURN(MBFile record, decode_mbfile(row.file));
    if (record.relative_path != row.relative_path) {
      return Status::Corruption(what + ": MBFile RelativePath is " + record.relative_path);
    }
    nlohmann::json f = {{"domain", row.domain},
                        {"path", row.relative_path},
                        {"flags", row.flags},
                        {"protection_class", record.protection_class}};
    if (row.flags == kManifestFile) {
      if (!record.encryption_key) return Status::Corruption(what + ": no EncryptionKey");
      KCB_ASSIGN_OR_RETURN(SecretBytes file_key,
                           aes_key_unwrap(spec.class_key, record.encryption_key->wrapped_key));
      KCB_ASSIGN_OR_RETURN(Bytes blob, env.read_file(blob_path(dir, id), kMaxFileBytes));
      KCB_ASSIGN_OR_RETURN(SecretBytes content, decrypt_file_blob(file_key.view(), blob, what));
      f["content_hex"] = to_hex(content.view());
    }
    files.push_back(std::move(f));
  }
  return nlohmann::json{{"files", files}};
}

int run(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: folder_blocks_tool write|read SPEC.json DIR\n";
    return 2;
  }
  Env& env = default_env();
  const std::string mode = argv[1];
  auto spec = read_spec(env, argv[2]);
  Status status = spec.status();
  if (spec.ok() && mode == "write") {
    status = write_folder(env, *spec, argv[3]);
  } else if (spec.ok() && mode == "read") {
    auto out = read_folder(env, *spec, argv[3]);
    if (out.ok()) std::cout << out->dump(1) << "\n";
    status = out.status();
  } else if (spec.ok()) {
    status = Status::InvalidArgument("unknown mode " + mode);
  }
  if (!status.ok()) {
    std::cerr << "folder_blocks_tool: " << status.to_string() << "\n";
    return 2;
  }
  return 0;
}

}  // namespace
}  // namespace kcb

int main(int argc, char** argv) {
  return kcb::run(argc, argv);
}
