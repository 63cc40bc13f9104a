import CProtobufC

/// Conversions from unpacked protobuf-c values, used by generated code.
public enum ProtobufCBridge {
    /// A Swift string from a protobuf-c `char *` (NULL reads as empty).
    /// The wire scanner has already rejected invalid UTF-8.
    public static func string(_ pointer: UnsafePointer<CChar>?) throws -> String {
        guard let pointer else { return "" }
        return String(cString: pointer)
    }

    /// A byte array from protobuf-c binary data.
    public static func bytes(_ data: ProtobufCBinaryData) -> [UInt8] {
        guard data.len > 0, let base = data.data else { return [] }
        return Array(UnsafeBufferPointer(start: base, count: data.len))
    }

    /// Maps a protobuf-c `n_xxx` + pointer pair into a Swift array.
    public static func array<E, T>(_ pointer: UnsafePointer<E>?, count: Int, _ transform: (E) throws -> T) rethrows -> [T] {
        guard let pointer, count > 0 else { return [] }
        var result: [T] = []
        result.reserveCapacity(count)
        for index in 0..<count { result.append(try transform(pointer[index])) }
        return result
    }
}
