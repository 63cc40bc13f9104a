import CProtobufC

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Owns the C memory of one protobuf-c struct tree while it is packed.
///
/// Every string, array and message made through the arena is freed when the
/// arena is deinitialized, so a tree is built, packed and dropped in one scope.
/// An arena is used by one thread at a time.
public final class ProtobufCArena {
    private var allocations: [UnsafeMutableRawPointer] = []

    public init() {}

    deinit {
        for pointer in allocations { free(pointer) }
    }

    private func allocate(_ size: Int) -> UnsafeMutableRawPointer {
        guard let pointer = calloc(1, max(size, 1)) else { fatalError("out of memory") }
        allocations.append(pointer)
        return pointer
    }

    /// A zero-filled message initialized by protobuf-c (descriptor and defaults set).
    public func message<T>(_ type: T.Type, _ descriptor: UnsafePointer<ProtobufCMessageDescriptor>) -> UnsafeMutablePointer<T> {
        let raw = allocate(Int(descriptor.pointee.sizeof_message))
        protobuf_c_message_init(descriptor, raw)
        return raw.bindMemory(to: T.self, capacity: 1)
    }

    /// A NUL-terminated copy of `string`.
    public func string(_ string: String) -> UnsafeMutablePointer<CChar>? {
        var string = string
        return string.withUTF8 { utf8 in
            let raw = allocate(utf8.count + 1)
            if utf8.count > 0 { raw.copyMemory(from: utf8.baseAddress!, byteCount: utf8.count) }
            raw.storeBytes(of: 0, toByteOffset: utf8.count, as: UInt8.self)
            return raw.bindMemory(to: CChar.self, capacity: utf8.count + 1)
        }
    }

    /// A copy of `bytes` as protobuf-c binary data.
    public func bytes(_ bytes: [UInt8]) -> ProtobufCBinaryData {
        guard !bytes.isEmpty else { return ProtobufCBinaryData(len: 0, data: nil) }
        let raw = allocate(bytes.count)
        bytes.withUnsafeBytes { raw.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        return ProtobufCBinaryData(len: bytes.count, data: raw.bindMemory(to: UInt8.self, capacity: bytes.count))
    }

    /// A C array holding `transform` of each element; nil when empty.
    public func array<E, T>(_ elements: [E], _ transform: (E) -> T) -> UnsafeMutablePointer<T>? {
        guard !elements.isEmpty else { return nil }
        let raw = allocate(MemoryLayout<T>.stride * elements.count)
        let typed = raw.bindMemory(to: T.self, capacity: elements.count)
        for (index, element) in elements.enumerated() {
            (typed + index).initialize(to: transform(element))
        }
        return typed
    }
}
