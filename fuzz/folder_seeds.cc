// The seeds are made with SQLite and libplist directly (not only through the engine's writers) so
// that they can hold what the writers never produce: other page sizes, other value types, wrappers
// and UID hops, and the refused neighbours the fuzzer starts its walks from.
#include "fuzz/folder_seeds.h"

#include <plist/plist.h>
#include <sqlite3.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/file_crypto.h"
#include "engine/manifest_db.h"
#include "engine/mbfile.h"
#include "fuzz/fixed_keys.h"
#include "input/property_list.h"

namespace kcb::fuzz {
namespace {

constexpr std::string_view kAppleSchema =
    "CREATE TABLE Files (fileID TEXT PRIMARY KEY, domain TEXT, relativePath TEXT, flags INTEGER, "
    "file BLOB);"
    "CREATE INDEX FilesDomainIdx ON Files(domain);"
    "CREATE INDEX FilesRelativePathIdx ON Files(relativePath);"
    "CREATE INDEX FilesFlagsIdx ON Files(flags);"
    "CREATE TABLE Properties (key TEXT PRIMARY KEY, value BLOB);";

struct Row {
  std::string domain, path;
  int64_t flags;
  Bytes file;
  std::string file_id = "";  // empty: the right one
};

// An image with 512-byte pages: `schema`, then the rows and properties bound as values (so any
// bytes go in), then `extra` SQL. Mode bytes 18/19 set to 2 (WAL) when `wal`.
Bytes make_db(std::string_view schema, const std::vector<Row>& rows,
              const std::vector<std::pair<std::string, Bytes>>& props, std::string_view extra = "",
              bool wal = false) {
  sqlite3* db = nullptr;
  KCB_ASSERT(sqlite3_open(":memory:", &db) == SQLITE_OK);
  const std::string setup = "PRAGMA page_size=512; BEGIN;" + std::string(schema);
  KCB_ASSERT(sqlite3_exec(db, setup.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  if (!rows.empty()) {
    KCB_ASSERT(sqlite3_prepare_v2(db, "INSERT INTO Files VALUES (?,?,?,?,?)", -1, &s, nullptr) ==
               SQLITE_OK);
    for (const Row& r : rows) {
      const std::string id = r.file_id.empty() ? file_id_of(r.domain, r.path) : r.file_id;
      sqlite3_bind_text(s, 1, id.data(), static_cast<int>(id.size()), SQLITE_TRANSIENT);
      sqlite3_bind_text(s, 2, r.domain.data(), static_cast<int>(r.domain.size()), SQLITE_TRANSIENT);
      sqlite3_bind_text(s, 3, r.path.data(), static_cast<int>(r.path.size()), SQLITE_TRANSIENT);
      sqlite3_bind_int64(s, 4, r.flags);
      static const uint8_t kNothing = 0;
      sqlite3_bind_blob(s, 5, r.file.empty() ? &kNothing : r.file.data(),
                        static_cast<int>(r.file.size()), SQLITE_TRANSIENT);
      KCB_ASSERT(sqlite3_step(s) == SQLITE_DONE);
      sqlite3_reset(s);
    }
    sqlite3_finalize(s);
  }
  if (!props.empty()) {
    KCB_ASSERT(sqlite3_prepare_v2(db, "INSERT INTO Properties VALUES (?,?)", -1, &s, nullptr) ==
               SQLITE_OK);
    for (const auto& [key, value] : props) {
      sqlite3_bind_text(s, 1, key.data(), static_cast<int>(key.size()), SQLITE_TRANSIENT);
      sqlite3_bind_blob(s, 2, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
      KCB_ASSERT(sqlite3_step(s) == SQLITE_DONE);
      sqlite3_reset(s);
    }
    sqlite3_finalize(s);
  }
  const std::string tail = std::string(extra) + "COMMIT;";
  KCB_ASSERT(sqlite3_exec(db, tail.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_int64 size = 0;
  unsigned char* image = sqlite3_serialize(db, "main", &size, 0);
  KCB_ASSERT(image != nullptr);
  Bytes out(image, image + size);
  sqlite3_free(image);
  sqlite3_close(db);
  if (wal) out[18] = out[19] = 2;
  return out;
}

MBFile regular_file(std::string path, uint32_t protection_class) {
  MBFile f;
  f.relative_path = std::move(path);
  f.size = 1620;
  f.mode = 0100644;
  f.user_id = 501;
  f.group_id = 501;
  f.inode_number = 162058;
  f.birth = 1610674653;
  f.last_modified = 1610674654;
  f.last_status_change = 1610674655;
  f.protection_class = protection_class;
  Bytes wrapped(kFileWrappedKeySize);
  for (size_t i = 0; i < wrapped.size(); ++i)
    wrapped[i] = static_cast<uint8_t>(0xA0 + i);
  f.encryption_key = FileEncryptionKey{protection_class, wrapped};
  return f;
}

MBFile folder(std::string path) {
  MBFile f;
  f.relative_path = std::move(path);
  f.mode = 040755;
  f.user_id = 501;
  f.group_id = 501;
  f.birth = f.last_modified = f.last_status_change = 1610674600;
  return f;
}

MBFile symlink(std::string path, std::string target) {
  MBFile f = folder(std::move(path));
  f.mode = 0120755;
  f.target = std::move(target);
  return f;
}

void write_manifest_seeds(const SeedSink& write) {
  const MBFile keychain = regular_file(std::string(kKeychainRelativePath), 1);
  const std::string kc_domain(kKeychainDomain), kc_path(kKeychainRelativePath);
  const std::string app = "AppDomain-com.example.app";
  const Row kc{kc_domain, kc_path, kManifestFile, encode_mbfile(keychain)};
  const std::vector<std::pair<std::string, Bytes>> props = {{"salt", Bytes(20, 0x53)},
                                                            {"passwordHash", Bytes(32, 0x50)}};
  write("manifest_db", "empty", make_db(kAppleSchema, {}, {}));
  write("manifest_db", "keychain", make_db(kAppleSchema, {kc}, props));
  write("manifest_db", "keychain-wal", make_db(kAppleSchema, {kc}, {}, "", true));
  MBFile digest = regular_file("Documents/notes.txt", 3);
  digest.digest = Bytes(20, 0xD1);
  write("manifest_db", "app-files",
        make_db(kAppleSchema,
                {kc,
                 {app, "", kManifestDirectory, encode_mbfile(folder(""))},
                 {app, "Documents", kManifestDirectory, encode_mbfile(folder("Documents"))},
                 {app, "Documents/notes.txt", kManifestFile, encode_mbfile(digest)},
                 {app, "Documents/link", kManifestSymlink,
                  encode_mbfile(symlink("Documents/link", "notes.txt"))},
                 {"HomeDomain", "Library/\xc3\xbc", kManifestFile, Bytes()}},
                props));
  // Only the required objects (no FilesDomainIdx and friends), spaced and cased differently.
  write("manifest_db", "required-only",
        make_db("create table Files (fileID text primary key, domain text, relativePath text, "
                "flags integer, file blob);\n"
                "CREATE TABLE Properties(key TEXT PRIMARY KEY,value BLOB);",
                {kc}, {}));
  // The writer's own image (4096-byte pages).
  ManifestDb m;
  m.files.push_back({kc_domain, kc_path, kManifestFile, encode_mbfile(keychain)});
  m.properties = props;
  auto own = write_manifest_db(m);
  KCB_ASSERT(own.ok());
  write("manifest_db", "writer", *own);

  // Refused neighbours: one step from an accepted database.
  write("manifest_db", "trigger",
        make_db(kAppleSchema, {kc}, {},
                "CREATE TRIGGER t AFTER INSERT ON Files BEGIN DELETE FROM Properties; END;"));
  write("manifest_db", "view",
        make_db("CREATE TABLE Properties (key TEXT PRIMARY KEY, value BLOB);", {}, {},
                "CREATE VIEW Files AS SELECT 'a' AS fileID, 'b' AS domain, 'c' AS relativePath, "
                "1 AS flags, x'00' AS file;"));
  write("manifest_db", "extra-table",
        make_db(kAppleSchema, {kc}, {}, "CREATE TABLE Extra (x); INSERT INTO Extra VALUES (1);"));
  write("manifest_db", "expression-index",
        make_db(kAppleSchema, {kc}, {},
                "DROP INDEX FilesFlagsIdx; CREATE INDEX FilesFlagsIdx ON Files(abs(flags));"));
  write("manifest_db", "wrong-file-id",
        make_db(kAppleSchema, {{kc_domain, "other", kManifestFile, Bytes(4, 1), kc.file_id}}, {}));
  write("manifest_db", "wrong-types",
        make_db(kAppleSchema, {kc}, {},
                "INSERT INTO Files VALUES ('a', x'00', 3.5, 'one', 'text');"));
  write("manifest_db", "bad-flags",
        make_db(kAppleSchema, {{kc_domain, kc_path, 8, Bytes(4, 1)}}, {}));

  // Encrypted Manifest.db images (the cipher check): a whole database and a short blob.
  const ByteView key(kClassKey.data(), kClassKey.size());
  const Bytes small = make_db(kAppleSchema, {}, {});
  auto sealed = encrypt_file_blob(key, small);
  KCB_ASSERT(sealed.ok());
  write("manifest_db", "encrypted-empty", *sealed);
  auto short_blob = encrypt_file_blob(key, as_bytes("bplist00"));
  KCB_ASSERT(short_blob.ok());
  write("manifest_db", "encrypted-short", *short_blob);
}

// ---- mbfile ----

Bytes tree_bytes(plist_t doc) {
  return to_binary_plist(doc);
}

PlistPtr tree_of(const Bytes& bytes) {
  auto doc = parse_plist(bytes, "seed");
  KCB_ASSERT(doc.ok());
  return std::move(doc).value();
}

plist_t objects_of(plist_t doc) {
  return plist_dict_get_item(doc, "$objects");
}

void write_mbfile_seeds(const SeedSink& write) {
  const MBFile keychain = regular_file(std::string(kKeychainRelativePath), 1);
  write("mbfile", "keychain", encode_mbfile(keychain));
  MBFile every = regular_file("Library/Preferences/com.example.app.plist", 4);
  every.digest = Bytes(20, 0xD1);
  every.user_id = 4294967294u;  // Darwin's "nobody" (-2)
  every.size = uint64_t{1} << 40;
  every.birth = -1;
  write("mbfile", "every-field", encode_mbfile(every));
  write("mbfile", "folder", encode_mbfile(folder("Documents")));
  write("mbfile", "root-folder", encode_mbfile(folder("")));
  write("mbfile", "symlink", encode_mbfile(symlink("Documents/link", "../x\xc3\xbc")));

  // Hand-built: the path as an NSMutableString wrapper, the key behind a UID hop, unknown fields.
  {
    PlistPtr doc(plist_new_dict());
    plist_dict_set_item(doc.get(), "$archiver", plist_new_string("NSKeyedArchiver"));
    plist_dict_set_item(doc.get(), "$version", plist_new_uint(100000));
    plist_t top = plist_new_dict();
    plist_dict_set_item(top, "root", plist_new_uid(4));
    plist_dict_set_item(doc.get(), "$top", top);
    plist_t objects = plist_new_array();
    plist_array_append_item(objects, plist_new_string("$null"));
    plist_t cls = plist_new_dict();
    plist_dict_set_item(cls, "$classname", plist_new_string("MBFile"));
    plist_array_append_item(objects, cls);
    plist_t path = plist_new_dict();
    plist_dict_set_item(path, "NS.string", plist_new_uid(6));
    plist_array_append_item(objects, path);
    plist_t key = plist_new_dict();
    Bytes key_bytes = {4, 0, 0, 0};
    key_bytes.resize(kFileEncryptionKeySize, 0x5E);
    plist_dict_set_item(
        key, "NS.data",
        plist_new_data(reinterpret_cast<const char*>(key_bytes.data()), key_bytes.size()));
    plist_array_append_item(objects, key);
    plist_t root = plist_new_dict();
    plist_dict_set_item(root, "$class", plist_new_uid(1));
    plist_dict_set_item(root, "RelativePath", plist_new_uid(2));
    plist_dict_set_item(root, "EncryptionKey", plist_new_uid(5));
    plist_dict_set_item(root, "ProtectionClass", plist_new_uint(4));
    plist_dict_set_item(root, "Size", plist_new_uint(77));
    plist_dict_set_item(root, "ExtendedAttributes", plist_new_uid(7));
    plist_array_append_item(objects, root);
    plist_array_append_item(objects, plist_new_uid(3));
    plist_array_append_item(objects, plist_new_string("Library/x.plist"));
    plist_array_append_item(objects, plist_new_data("bplist00", 8));
    plist_dict_set_item(doc.get(), "$objects", objects);
    write("mbfile", "wrappers-and-hops", tree_bytes(doc.get()));
  }

  // Refused neighbours of the keychain record ($objects: 0 $null, 1 root, 2 path, 3 key, 4 key
  // class, 5 file class).
  auto edited = [&](const std::string& name, const std::function<void(plist_t doc)>& edit) {
    PlistPtr doc = tree_of(encode_mbfile(keychain));
    edit(doc.get());
    write("mbfile", name, tree_bytes(doc.get()));
  };
  auto root_of = [](plist_t doc) { return plist_array_get_item(objects_of(doc), 1); };
  edited("uid-past-objects",
         [&](plist_t d) { plist_dict_set_item(root_of(d), "EncryptionKey", plist_new_uid(9)); });
  edited("uid-cycle", [&](plist_t d) {
    plist_array_set_item(objects_of(d), plist_new_uid(3), 2);
    plist_array_set_item(objects_of(d), plist_new_uid(2), 3);
  });
  edited("wrapper-cycle", [&](plist_t d) {
    plist_t a = plist_new_dict();
    plist_dict_set_item(a, "NS.string", plist_new_uid(3));
    plist_t b = plist_new_dict();
    plist_dict_set_item(b, "NS.string", plist_new_uid(2));
    plist_array_set_item(objects_of(d), a, 2);
    plist_array_set_item(objects_of(d), b, 3);
  });
  edited("version", [&](plist_t d) { plist_dict_set_item(d, "$version", plist_new_uint(99999)); });
  edited("short-key", [&](plist_t d) {
    plist_t wrapper = plist_array_get_item(objects_of(d), 3);
    const Bytes k(kFileEncryptionKeySize - 1, 0x4B);
    plist_dict_set_item(wrapper, "NS.data",
                        plist_new_data(reinterpret_cast<const char*>(k.data()), k.size()));
  });
  edited("wrong-class", [&](plist_t d) {
    plist_t cls = plist_array_get_item(objects_of(d), 5);
    plist_dict_set_item(cls, "$classname", plist_new_string("MBFolder"));
  });
  edited("mode-as-text",
         [&](plist_t d) { plist_dict_set_item(root_of(d), "Mode", plist_new_string("0644")); });
}

}  // namespace

void write_folder_seeds(const SeedSink& write) {
  write_manifest_seeds(write);
  write_mbfile_seeds(write);
}

}  // namespace kcb::fuzz
