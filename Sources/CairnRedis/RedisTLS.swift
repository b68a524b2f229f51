/// How to reach a `rediss://` server: what verifies it and what identifies Cairn to it.
public struct RedisTLS: Sendable, Equatable {
    /// PEM file of the CA certificates that verify the server (`--redis-tls-ca`); nil: the system's trust store.
    public var caFile: String?
    /// PEM client certificate (`--redis-tls-cert`), for a server with `tls-auth-clients yes`; goes with `keyFile`.
    public var certificateFile: String?
    /// PEM private key of `certificateFile` (`--redis-tls-key`).
    public var keyFile: String?
    /// The name the server's certificate must hold, and the SNI name sent (`--redis-tls-server-name`);
    /// nil: the host of the address (an IP address is checked against the certificate's IP entries).
    public var serverName: String?

    public init(caFile: String? = nil, certificateFile: String? = nil, keyFile: String? = nil, serverName: String? = nil) {
        self.caFile = caFile; self.certificateFile = certificateFile; self.keyFile = keyFile; self.serverName = serverName
    }
}
