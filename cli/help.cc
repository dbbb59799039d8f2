// The help of every command in one table: its one-line summary (in the parent's --help) and its
// --help footer (exit codes, an example with its real output). One place to read them all and
// keep them in step with docs/cli.md; add_command() looks each one up by its path.
#include "cli/help.h"

#include <algorithm>
#include <iterator>

#include "kcbackup/status.h"

namespace kcb::cli {
namespace {

constexpr CommandHelp kHelp[] = {
    {"predict", "Ask the oracle what happens to one keychain item",
     "Example:\n  kcbackup predict --accessible WhenUnlockedThisDeviceOnly --journey "
     "local-encrypted --target other-device\n  -> lost (R3: ThisDeviceOnly class keys keep "
     "the device layer)"},
    {"table",
     "The verdict matrix: every accessibility class (or the one --accessible names) by "
     "every journey and target",
     "Examples:\n  kcbackup table --measured\n  kcbackup table --synchronizable "
     "--icloud-keychain on --format markdown"},
    {"rules", "The backup rules the oracle knows, with confidence and sources",
     "Example:\n  kcbackup rules --format json"},
    {"demo", "The seed's experiment (Apple DTS, 2018): measured / oracle / engine for 12 rows",
     "Runs in well under a second: the KDF uses reduced iteration counts (said in its output).\n"
     "Example:\n  kcbackup demo\n  kcbackup demo --format json"},
    {"audit",
     "Check an app's keychain items against what the app expects of them on every backup, "
     "restore and migration",
     "Exit codes: 0 every expectation holds (warnings fail only with --fail-on warning), 1 an "
     "expectation is violated, 2 invalid input (the message names the field, e.g. "
     "items[2].accessible), 4 unreadable file.\n\nExamples:\n  kcbackup audit "
     "examples/audit-banking-app.json --wrapper keychainaccess --format markdown\n  -> exit 1: "
     "refresh-token is lost on icloud-backup:other-device (R4)\n  kcbackup audit items.json "
     "--format sarif > audit.sarif      (GitHub code scanning)\n  kcbackup audit - --format "
     "junit < items.json       (standard input)\n  kcbackup audit --backup phone.backup "
     "--access-group TEAMID.com.example.app --key-file phone.key   (a real backup's items)"},
    {"device",
     "Simulated devices: init, add, update, delete, list, passcode, erase, set (see `device "
     "COMMAND "
     "--help`)",
     "Example:\n  kcbackup device init phone --passcode on\n  kcbackup device add phone "
     "--account alice --service example.com --secret hunter2\n  kcbackup device list phone\n"
     "Run `kcbackup device COMMAND --help` for each command's options."},
    {"device init", "Create a simulated device in DIR: a hardware UID, a system keybag, a keychain",
     "Example:\n  kcbackup device init phone --passcode on\n  Created device phone\n"
     "    UniqueDeviceID  5c1d...\n    passcode        on\n    iCloud Keychain off\n"
     "    references      rowid\n    SOS             off"},
    {"device set", "Change a device's persistent-reference kind or its SOS setting",
     "Switching the kind renews every item's persistent reference (R11): a reference stored "
     "before no longer resolves.\n\nExample:\n  kcbackup device set phone --persistent-refs uuid\n"
     "  phone: passcode on, iCloud Keychain off, uuid references, SOS off; 2 item reference(s) "
     "renewed (R11)"},
    {"device add", "SecItemAdd: store one keychain item on a device",
     "A refused add exits 2 with Apple's OSStatus: errSecAuthFailed (-25293) for "
     "WhenPasscodeSetThisDeviceOnly without a passcode, errSecParam (-50) for an auth-constrained "
     "synchronizable item or a token item outside class keys, errSecDuplicateItem (-25299) for a "
     "duplicate.\n\nExample:\n  kcbackup device add phone --account alice --service "
     "example.com --accessible WhenUnlockedThisDeviceOnly --secret hunter2\n  Added genp item "
     "alice / example.com (WhenUnlockedThisDeviceOnly (aku)) as row 1"},
    {"device update",
     "SecItemUpdate: change one item's accessibility, synchronizable flag, label or secret",
     "The item is sealed again under the class key of its (new) accessibility. Refusals exit 2 "
     "with Apple's OSStatus, as for add; errSecItemNotFound (-25300) when no item matches.\n\n"
     "Example:\n  kcbackup device update phone --account alice --service example.com "
     "--accessible AfterFirstUnlock\n  Updated genp row 1 on phone"},
    {"device delete", "SecItemDelete: remove one item",
     "Exits 2 with errSecItemNotFound (-25300) when no item matches.\n\nExample:\n  "
     "kcbackup device delete phone --row 1\n  Deleted genp row 1 on phone"},
    {"device list", "The items a device can read",
     "Example:\n  kcbackup device list phone\n  phone: passcode on, iCloud Keychain off, rowid "
     "references, SOS off, "
     "1 item\n  row  class  account  service      accessible                        "
     "flags\n  1    genp   alice    example.com  WhenUnlockedThisDeviceOnly (aku)  -"},
    {"device passcode",
     "Turn the passcode on or off (off deletes WhenPasscodeSetThisDeviceOnly items)",
     "Example:\n  kcbackup device passcode phone off"},
    {"device erase",
     "Erase All Content and Settings: no app files, an empty keychain, fresh class keys, same UID",
     "Example:\n  kcbackup device erase phone"},
    {"backup",
     "Back up a simulated device into a real backup folder (Manifest.db, Manifest.plist, "
     "Status.plist, file blobs), as Finder writes it",
     "The password (local-encrypted only) comes from --password-file, --password, "
     "KCBACKUP_PASSWORD, or a prompt on the terminal, in that order.\n\nExample:\n"
     "  kcbackup backup phone phone.backup --journey local-encrypted --password-file pw.txt\n"
     "  Wrote phone.backup (local-encrypted, encrypted): 2 item(s) backed up, 0 left on the "
     "device by the export filter (R1)"},
    {"restore",
     "Restore a backup folder (kcbackup's, Finder's, iTunes' or idevicebackup2's) onto a "
     "simulated device and print each item's fate",
     "Every file the folder lists is read and checked before anything changes. Exit 3 for a "
     "wrong or missing password (or key), 2 for a malformed or incomplete folder (a missing "
     "file, an iOS 9 Manifest.mbdb), 4 for an I/O error; in every such case the device is "
     "unchanged.\n\nExample:\n"
     "  kcbackup restore phone.backup new-phone --password-file pw.txt\n"
     "  class    account  service      accessible                         fate\n"
     "  genp #0  alice    example.com  WhenUnlocked (ak)                  restored\n"
     "  genp #1  ?        ?            WhenUnlockedThisDeviceOnly (aku)*  lost: class key "
     "unavailable on this device\n"
     "  1 of 2 item(s) restored; 0 item(s) already on the device were replaced (R7)\n"
     "  * from the blob header: the item did not decode"},
    {"migrate", "Quick Start: a one-time encrypted transfer from one device to another",
     "Example:\n  kcbackup migrate old-phone new-phone --fast-kdf"},
    {"inspect", "What is inside a backup folder, a keybag, an item blob or a keychain archive",
     "Examples:\n  kcbackup inspect backup phone.backup --password-file pw.txt --device phone\n"
     "  kcbackup inspect keybag phone.backup/Manifest.plist --format json\n"
     "Run `kcbackup inspect COMMAND --help` for each command's options."},
    {"inspect keybag", "A keybag's header and class keys (FILE: a raw keybag or a Manifest.plist)",
     "A wrong password exits 3; a malformed or hostile bag exits 2 before any key derivation.\n\n"
     "Example:\n  kcbackup inspect keybag phone.backup/Manifest.plist --password-file pw.txt\n"
     "  class  accessible                      wrap             key type  unlocked\n"
     "  6      WhenUnlocked                    password         AES       yes\n"
     "  9      WhenUnlockedThisDeviceOnly      device+password  AES       no: needs --device"},
    {"inspect blob", "A v3 item blob's header and attributes",
     "Example:\n  kcbackup inspect blob item.bin --class-key 3f1c...e0 --format json"},
    {"inspect archive", "The items of a keychain-backup.plist: class, key class, sizes",
     "Example:\n  kcbackup inspect archive phone.backup/KeychainDomain/keychain-backup.plist"},
    // ---- issue 13 (cli13): app files and real backup folders ----
    {"device put", "Give a device an app file (domain and path) that its backups carry",
     "The path is relative to the domain: no leading '/', no '..' component. A file of the same "
     "domain and path is replaced. Protection classes: 1 Complete, 2 CompleteUnlessOpen, 3 "
     "CompleteUntilFirstUserAuthentication (the default), 4 None, 5-11 the keychain's.\n\n"
     "Example:\n  kcbackup device put phone --domain AppDomain-com.example.app --path "
     "Documents/notes.txt notes.txt\n  Put AppDomain-com.example.app / Documents/notes.txt (12 "
     "bytes, protection class 3 CompleteUntilFirstUserAuthentication) on phone"},
    {"device files", "The app files a device holds: domain, path, size, protection class",
     "Example:\n  kcbackup device files phone\n  phone: 1 app file\n  domain                     "
     "path                 size  protection class\n  AppDomain-com.example.app  "
     "Documents/notes.txt  12    3 CompleteUntilFirstUserAuthentication"},
    {"inspect backup",
     "A real backup folder: device, encryption, files per domain, keybag classes, and each "
     "keychain "
     "item's fate on restore (oracle) beside what the engine can unwrap",
     "Same device: the keys the backup opened with (--device gives the source's key 0x835). Other "
     "device: the bag unlocked again with a fresh device's key. An item that does not decode shows "
     "its class from the blob header (*). Exit 3 for a wrong password or key, 2 for a malformed "
     "folder, 4 for an unreadable one.\n\nExamples:\n  kcbackup inspect backup phone.backup "
     "--password-file pw.txt --device phone\n  kcbackup inspect backup phone.backup --key-file "
     "phone.key --files --format json"},
    {"extract", "One file of a backup folder, decrypted, written to -o OUT (which must not exist)",
     "Example:\n  kcbackup extract phone.backup --domain AppDomain-com.example.app --path "
     "Documents/notes.txt -o notes.txt --key-file phone.key\n  Wrote notes.txt: "
     "AppDomain-com.example.app / Documents/notes.txt, 12 bytes (protection class 3 "
     "CompleteUntilFirstUserAuthentication)"},
    {"unlock", "Derive a backup's password key once and write it (hex, mode 0600) for --key-file",
     "The key opens the backup exactly as the password does: keep it as safe, delete it when "
     "done. restore, inspect backup, extract and audit --backup take it as --key-file, so the "
     "10,000,000-round KDF runs once.\n\nExample:\n  kcbackup unlock phone.backup "
     "--password-file pw.txt --key-out phone.key\n  kcbackup inspect backup phone.backup "
     "--key-file phone.key"},
    {"simulate",
     "Run a scripted scenario over several simulated phones; engine vs oracle after every step",
     "Steps: add, delete, passcode, icloud-keychain, icloud-keychain-switch, backup, erase, "
     "restore, migrate, sync; the fields of each are in docs/cli.md. Exit 1 when engine and "
     "oracle disagree, 2 for a malformed scenario (the message names the JSON path). The "
     "stateful property writes its counterexamples as scenarios.\n"
     "Example:\n  kcbackup simulate examples/scenario-new-phone.json"},
};

}  // namespace

const CommandHelp& help_for(std::string_view path) {
  const auto* found = std::find_if(std::begin(kHelp), std::end(kHelp),
                                   [path](const CommandHelp& h) { return h.path == path; });
  KCB_ASSERT(found != std::end(kHelp));  // every registered command has its entry
  return *found;
}

}  // namespace kcb::cli
