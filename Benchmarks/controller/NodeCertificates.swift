import COpenSSL
import Glibc

/// Makes node certificates for load tests with OpenSSL's C API (about a
/// millisecond each, against tens of milliseconds through the openssl
/// CLI): EC P-256 keys, signed by the development CA that
/// `certs/make-certs.sh` wrote, with the X509-SVID shape of a node leaf
/// (one URI SAN `spiffe://TD/node/NAME`, not a CA, digitalSignature,
/// clientAuth).
enum NodeCertificates {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func make(directory: String, names: [String], trustDomain: String = "sriov.local") throws {
        guard let caFile = fopen(directory + "/ca.crt", "r") else { throw Failure(description: "cannot open \(directory)/ca.crt") }
        let ca = PEM_read_X509(caFile, nil, nil, nil)
        fclose(caFile)
        guard let keyFile = fopen(directory + "/ca.key", "r") else { throw Failure(description: "cannot open \(directory)/ca.key") }
        let caKey = PEM_read_PrivateKey(keyFile, nil, nil, nil)
        fclose(keyFile)
        guard let ca, let caKey else { throw Failure(description: "cannot read the CA's certificate or key") }
        defer {
            X509_free(ca)
            EVP_PKEY_free(caKey)
        }
        for (i, name) in names.enumerated() {
            let crt = directory + "/node-\(name).crt", keyPath = directory + "/node-\(name).key"
            if access(crt, R_OK) == 0 && access(keyPath, R_OK) == 0 { continue }
            guard let kctx = EVP_PKEY_CTX_new_id(EVP_PKEY_EC, nil) else { throw Failure(description: "EVP_PKEY_CTX_new_id") }
            var key: OpaquePointer?
            guard EVP_PKEY_keygen_init(kctx) == 1, EVP_PKEY_CTX_set_ec_paramgen_curve_nid(kctx, NID_X9_62_prime256v1) == 1,
                  EVP_PKEY_keygen(kctx, &key) == 1, let key
            else {
                EVP_PKEY_CTX_free(kctx)
                throw Failure(description: "EC key generation failed")
            }
            EVP_PKEY_CTX_free(kctx)
            defer { EVP_PKEY_free(key) }
            guard let x = X509_new() else { throw Failure(description: "X509_new") }
            defer { X509_free(x) }
            X509_set_version(x, 2)
            ASN1_INTEGER_set(X509_get_serialNumber(x), Int(i + 1) &+ Int(time(nil) % 1_000_000) * 100_000)
            X509_gmtime_adj(X509_getm_notBefore(x), -3600)
            X509_gmtime_adj(X509_getm_notAfter(x), 7 * 86_400)
            X509_set_pubkey(x, key)
            let subject = X509_get_subject_name(x)
            X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC, "node-\(name)", -1, -1, 0)
            X509_set_issuer_name(x, X509_get_subject_name(ca))
            var ctx = X509V3_CTX()
            X509V3_set_ctx(&ctx, ca, x, nil, nil, 0)
            for (nid, value) in [
                (NID_basic_constraints, "critical,CA:FALSE"), (NID_key_usage, "critical,digitalSignature"),
                (NID_ext_key_usage, "clientAuth"), (NID_subject_alt_name, "URI:spiffe://\(trustDomain)/node/\(name)"),
            ] {
                guard let ext = X509V3_EXT_conf_nid(nil, &ctx, nid, value) else { throw Failure(description: "extension \(value)") }
                X509_add_ext(x, ext, -1)
                X509_EXTENSION_free(ext)
            }
            guard X509_sign(x, caKey, EVP_sha256()) > 0 else { throw Failure(description: "signing \(name)") }
            guard let kf = fopen(keyPath, "w") else { throw Failure(description: "cannot write \(keyPath)") }
            PEM_write_PrivateKey(kf, key, nil, nil, 0, nil, nil)
            fclose(kf)
            guard let cf = fopen(crt, "w") else { throw Failure(description: "cannot write \(crt)") }
            PEM_write_X509(cf, x)
            fclose(cf)
        }
    }
}
