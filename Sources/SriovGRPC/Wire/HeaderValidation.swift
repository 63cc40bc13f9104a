/// A header name or value gRPC does not allow.
public struct HeaderValidationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The header name.
    public var header: String
    /// The offending value (or name).
    public var value: String
    /// What would be accepted.
    public var accepted: String

    public var description: String {
        "header \"\(header)\": value \"\(value)\" is not valid; expected \(accepted)"
    }
}

/// Checks of metadata keys and values against gRPC's grammar:
/// keys `[0-9a-z_.-]+` not starting with `grpc-` or `:`, ASCII values
/// printable (0x20...0x7E).
enum HeaderValidation {
    static func validateKey(_ key: String) throws {
        guard !key.isEmpty else {
            throw HeaderValidationError(header: key, value: key, accepted: "a non-empty key")
        }
        for c in key.utf8 {
            let ok = (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
                || c == UInt8(ascii: "-") || c == UInt8(ascii: "_") || c == UInt8(ascii: ".")
            guard ok else {
                throw HeaderValidationError(header: key, value: key, accepted: "a key of characters 0-9 a-z _ . -")
            }
        }
        if key.hasPrefix("grpc-") {
            throw HeaderValidationError(header: key, value: key, accepted: "a key not starting with grpc- (reserved)")
        }
    }

    static func validateASCIIValue(_ value: String, key: String) throws {
        for c in value.utf8 where c < 0x20 || c > 0x7e {
            throw HeaderValidationError(header: key, value: value, accepted: "printable ASCII (0x20-0x7E), or a key ending in -bin")
        }
    }

    /// True for `application/grpc`, `application/grpc+proto` and other
    /// `application/grpc+...` / `;params` forms.
    static func isGRPCContentType(_ value: some StringProtocol) -> Bool {
        guard value.hasPrefix("application/grpc") else { return false }
        let rest = value.dropFirst("application/grpc".count)
        return rest.isEmpty || rest.first == "+" || rest.first == ";"
    }
}
