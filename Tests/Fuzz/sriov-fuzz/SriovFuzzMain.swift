// sriov-fuzz: the fuzz targets of SriovFuzzTargets behind one executable.
//
// Built by scripts/fuzz.sh with -sanitize=fuzzer,address and -DFUZZING, it is a libFuzzer binary: the target comes from the
// environment (SRIOV_FUZZ_TARGET=protobuf|grpc-wire|cr|h2-server|h2-client) and every libFuzzer
// option works. Built plainly, it replays inputs:
//
//   sriov-fuzz TARGET FILE_OR_DIRECTORY...
import Foundation
import SriovFuzzTargets

#if FUZZING

/// The target of this process, from `SRIOV_FUZZ_TARGET`; read once.
let selectedTarget: FuzzTarget = {
    let name = ProcessInfo.processInfo.environment["SRIOV_FUZZ_TARGET"] ?? ""
    guard let target = FuzzTarget(rawValue: name) else {
        let known = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
        FileHandle.standardError.write(Data("sriov-fuzz: SRIOV_FUZZ_TARGET is \(name.isEmpty ? "not set" : "\"\(name)\""); set it to one of \(known)\n".utf8))
        exit(2)
    }
    return target
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    selectedTarget.run(UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size))
    return 0
}

/// libFuzzer's driver (`FuzzerDriver.cpp`), for executables with their own
/// entry point. SwiftPM links every executable's `main` to the module's entry
/// point, so libFuzzer's `main` is not used; this one runs the driver.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
) -> Int32

/// The libFuzzer entry point: checks the target, then runs the driver with
/// the command line.
@main
enum SriovFuzzMain {
    static func main() {
        _ = selectedTarget
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzerTestOneInput(data, size) })
    }
}

#else
/// Replays inputs through a target: `sriov-fuzz TARGET FILE_OR_DIRECTORY...`.
@main
enum SriovFuzzReplay {
    static func main() {
        let arguments = CommandLine.arguments.dropFirst()
        let known = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
        guard let name = arguments.first, let target = FuzzTarget(rawValue: name), arguments.count >= 2 else {
            FileHandle.standardError.write(Data("usage: sriov-fuzz TARGET FILE_OR_DIRECTORY... (TARGET: \(known))\n".utf8))
            exit(2)
        }
        var files: [String] = []
        for path in arguments.dropFirst() {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                FileHandle.standardError.write(Data("sriov-fuzz: \(path): no such file or directory\n".utf8))
                exit(2)
            }
            if isDirectory.boolValue {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
                files += names.sorted().map { "\(path)/\($0)" }
            } else {
                files.append(path)
            }
        }
        for file in files {
            guard let data = FileManager.default.contents(atPath: file) else {
                FileHandle.standardError.write(Data("sriov-fuzz: \(file): cannot be read\n".utf8))
                exit(2)
            }
            target.run([UInt8](data))
        }
        print("sriov-fuzz \(target.rawValue): \(files.count) inputs, no failure")
    }
}

#endif
