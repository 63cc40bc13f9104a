import Foundation

/// A leaf certificate crafted with the `openssl` CLI and signed by the CA of
/// a ``CertificateDirectory``: any extensions, any subjectAltName bytes
/// (written as DER, so NULs, newlines and invalid UTF-8 survive), any key,
/// any validity. For tests of what a server must refuse.
struct CraftedCertificate: Sendable {
    enum Key: Sendable {
        case ec
        case rsa(bits: Int)
    }

    enum SAN: Sendable {
        case uri([UInt8])
        case dns(String)
        case email(String)
        case ip([UInt8])
    }

    /// The base name written into the directory (`NAME.crt`, `NAME.key`).
    var name: String
    var sans: [SAN]
    var key: Key = .ec
    /// Extensions besides subjectAltName, in `openssl x509v3_config` syntax.
    var extensions = CraftedCertificate.clientLeaf
    /// Default: valid from a minute ago for a day.
    var notBefore: Date? = nil
    var notAfter: Date? = nil

    /// What `certs/make-certs.sh` gives a client leaf.
    static let clientLeaf = ["basicConstraints=critical,CA:FALSE", "keyUsage=critical,digitalSignature", "extendedKeyUsage=clientAuth"]

    static func uri(_ text: String) -> SAN { .uri(Array(text.utf8)) }

    /// Writes `name.crt` and `name.key` into `directory`, signed by its CA.
    func write(into directory: CertificateDirectory) throws {
        let work = directory.path("craft-\(name)")
        try FileManager.default.createDirectory(atPath: work + "/new", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        let key = directory.path("\(name).key"), crt = directory.path("\(name).crt")
        switch self.key {
        case .ec: try Self.openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key])
        case .rsa(let bits): try Self.openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:\(bits)", "-out", key])
        }
        try Self.openssl(["req", "-new", "-key", key, "-subj", "/O=sriov-operator/CN=\(name)", "-out", work + "/req.csr"])
        var ext = extensions
        if !sans.isEmpty { ext.append("subjectAltName=DER:" + Self.generalNames(sans).map { String(format: "%02x", $0) }.joined(separator: ":")) }
        try (ext.joined(separator: "\n") + "\n").write(toFile: work + "/ext.cnf", atomically: true, encoding: .utf8)
        try "".write(toFile: work + "/index.txt", atomically: true, encoding: .utf8)
        try "\(UUID().uuidString.replacingOccurrences(of: "-", with: ""))\n".write(toFile: work + "/serial", atomically: true, encoding: .utf8)
        try """
        [ca]
        default_ca = dev
        [dev]
        database = \(work)/index.txt
        new_certs_dir = \(work)/new
        serial = \(work)/serial
        default_md = sha256
        policy = any
        unique_subject = no
        [any]
        organizationName = optional
        commonName = supplied

        """.write(toFile: work + "/ca.cnf", atomically: true, encoding: .utf8)
        let from = notBefore ?? Date().addingTimeInterval(-60)
        let until = notAfter ?? Date().addingTimeInterval(86_400)
        try Self.openssl([
            "ca", "-batch", "-config", work + "/ca.cnf", "-cert", directory.path("ca.crt"), "-keyfile", directory.path("ca.key"),
            "-startdate", Self.asn1Time(from), "-enddate", Self.asn1Time(until), "-extfile", work + "/ext.cnf",
            "-in", work + "/req.csr", "-out", crt, "-notext",
        ])
    }

    /// `YYYYMMDDHHMMSSZ` in UTC, as `openssl ca` takes it.
    static func asn1Time(_ date: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyyMMddHHmmss"
        return f.string(from: date) + "Z"
    }

    /// DER `GeneralNames`.
    static func generalNames(_ sans: [SAN]) -> [UInt8] {
        func length(_ n: Int) -> [UInt8] {
            n < 0x80 ? [UInt8(n)] : n < 0x100 ? [0x81, UInt8(n)] : [0x82, UInt8(n >> 8), UInt8(n & 0xFF)]
        }
        func tlv(_ tag: UInt8, _ value: [UInt8]) -> [UInt8] { [tag] + length(value.count) + value }
        var body: [UInt8] = []
        for s in sans {
            switch s {
            case .uri(let b): body += tlv(0x86, b)
            case .dns(let d): body += tlv(0x82, Array(d.utf8))
            case .email(let e): body += tlv(0x81, Array(e.utf8))
            case .ip(let a): body += tlv(0x87, a)
            }
        }
        return tlv(0x30, body)
    }

    static func openssl(_ arguments: [String]) throws {
        let out = try ProcessRunner.runBlocking("/usr/bin/openssl", arguments, timeout: .seconds(30))
        guard out.status == 0 else {
            throw CraftingError(message: "openssl \(arguments.prefix(1).joined()) failed (\(out.status)): \(out.stderr)")
        }
    }

    struct CraftingError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }
}
