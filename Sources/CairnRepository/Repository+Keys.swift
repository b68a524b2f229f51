import CairnBackends
import CairnCodec
import CairnCore
import Foundation

extension Repository {
    /// Key files of the repository, oldest first.
    public func keys() throws -> [KeyEntry] {
        var entries: [KeyEntry] = []
        for info in try store.list(.keys) {
            guard let id = KeyID(hex: info.key.name) else { continue }
            let file = try JSONCoding.decoder.decode(KeyFile.self, from: Data(try store.get(info.key)))
            entries.append(KeyEntry(id: id, file: file, isCurrent: id == currentKey))
        }
        return entries.sorted { ($0.file.created, $0.id) < ($1.file.created, $1.id) }
    }

    /// Adds a password: a new key file wrapping the same master key.
    public func addKey(password: String, scrypt: ScryptParameters = .standard, identity: Identity) throws -> KeyID {
        guard config.isEncrypted else {
            throw RepositoryError(.usage, "this repository is not encrypted; it has no keys")
        }
        guard !password.isEmpty else { throw RepositoryError(.usage, "the new password is empty") }
        return try Repository.addKeyFile(store: store, masterKey: masterKey, password: password, scrypt: scrypt, identity: identity)
    }

    /// Removes a key file, checked against the key files stored now: the key that opened this
    /// session is never removed, and neither is any key once the key in use is gone (another
    /// process removed it since this one opened the repository), so a key this process's password
    /// opens always remains. Callers hold the exclusive lock, so no other removal runs meanwhile.
    public func removeKey(_ id: KeyID) throws {
        let all = try keys()
        guard all.contains(where: { $0.id == id }) else {
            throw RepositoryError(.noMatch, "no key \(id.short) in this repository", hint: "see `cairn key list`")
        }
        guard id != currentKey else {
            throw RepositoryError(.usage, "key \(id.short) is the one in use; it cannot remove itself",
                                  hint: "open the repository with another password to remove this key")
        }
        guard let currentKey, all.contains(where: { $0.id == currentKey }) else {
            throw RepositoryError(.failure, "the key in use (\(currentKey?.short ?? "none")) is no longer in the repository; "
                                  + "removing key \(id.short) could leave no key that opens it",
                                  hint: "another process removed it; open the repository with a password that still works and see `cairn key list`")
        }
        try store.delete(ObjectKey(.keys, id.hex))
    }

    /// Resolves a key id or unique prefix.
    public func findKey(_ prefix: String) throws -> KeyID {
        let matches = try keys().filter { $0.id.hex.hasPrefix(prefix.lowercased()) }
        guard matches.count == 1 else {
            throw RepositoryError(matches.isEmpty ? .noMatch : .usage,
                                  matches.isEmpty ? "no key matches \(prefix)" : "\(prefix) matches \(matches.count) keys; give more digits")
        }
        return matches[0].id
    }
}
