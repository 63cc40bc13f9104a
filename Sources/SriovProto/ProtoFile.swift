/// One compiled .proto file: its serialized `FileDescriptorProto` and the
/// symbols it defines, as server reflection hands them out.
public struct ProtoFile: Sendable, Hashable {
    /// Path as imported, e.g. `sriov/v1/policy.proto`.
    public let name: String
    /// Imported files, by name.
    public let dependencies: [String]
    /// Fully-qualified messages, enums, services and methods defined here.
    public let symbols: [String]
    /// Fully-qualified services defined here.
    public let services: [String]
    /// The serialized `google.protobuf.FileDescriptorProto` (no source info).
    public let descriptor: [UInt8]

    public init(name: String, dependencies: [String], symbols: [String], services: [String], descriptorBase64: String) {
        self.name = name
        self.dependencies = dependencies
        self.symbols = symbols
        self.services = services
        self.descriptor = Base64.decode(descriptorBase64.filter { !$0.isWhitespace })
    }
}

extension ProtoFileRegistry {
    /// The file with this name.
    public static func file(named name: String) -> ProtoFile? {
        files.first { $0.name == name }
    }

    /// The file defining a fully-qualified symbol (message, enum, service or
    /// method; a leading dot is ignored).
    public static func file(containingSymbol symbol: String) -> ProtoFile? {
        let symbol = symbol.hasPrefix(".") ? String(symbol.dropFirst()) : symbol
        return files.first { $0.symbols.contains(symbol) }
    }

    /// `file` and every file it imports, transitively, dependencies first.
    public static func closure(of file: ProtoFile) -> [ProtoFile] {
        var seen: Set<String> = []
        var ordered: [ProtoFile] = []
        func visit(_ f: ProtoFile) {
            guard seen.insert(f.name).inserted else { return }
            for dependency in f.dependencies {
                if let d = self.file(named: dependency) { visit(d) }
            }
            ordered.append(f)
        }
        visit(file)
        return ordered
    }
}

/// Standard base64 (RFC 4648) decoding of trusted generated text.
enum Base64 {
    static func decode(_ text: String) -> [UInt8] {
        var table = [UInt8](repeating: 0xff, count: 256)
        for (index, char) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() {
            table[Int(char)] = UInt8(index)
        }
        var output: [UInt8] = []
        output.reserveCapacity(text.utf8.count * 3 / 4)
        var accumulator: UInt32 = 0
        var bits = 0
        for char in text.utf8 where char != UInt8(ascii: "=") {
            let value = table[Int(char)]
            precondition(value != 0xff, "invalid base64 in generated descriptor")
            accumulator = accumulator << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                output.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
            }
        }
        return output
    }
}
