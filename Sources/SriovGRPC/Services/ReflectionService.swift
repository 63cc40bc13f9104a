import SriovProto

/// `grpc.reflection.v1.ServerReflection` (and the same service under
/// `v1alpha`, which older tools ask for), serving the descriptors compiled
/// into ``SriovProto/ProtoFileRegistry``.
public struct ReflectionService: Sendable {
    /// The services listed by `list_services`.
    public let services: [String]

    /// - Parameter services: fully-qualified services this server offers.
    public init(services: [String]) {
        self.services = services.sorted()
    }

    public var routes: [ServerRoute] {
        let paths = [
            "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
            "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        ]
        return paths.map { path in
            ServerRoute(path: path, kind: .bidirectionalStreaming, handler: .async { requests, writer, _ in
                for try await bytes in requests {
                    let request = try decodeRequest(GrpcReflectionV1.ServerReflectionRequest.self, bytes)
                    try await writer.write(answer(request).serializedBytes())
                }
                return RawCallEnd()
            })
        }
    }

    /// The answer to one reflection request.
    public func answer(_ request: GrpcReflectionV1.ServerReflectionRequest) -> GrpcReflectionV1.ServerReflectionResponse {
        var response = GrpcReflectionV1.ServerReflectionResponse()
        response.validHost = request.host
        response.originalRequest = request
        func files(_ file: ProtoFile?, _ what: String) -> GrpcReflectionV1.ServerReflectionResponse.MessageResponse {
            guard let file else {
                var e = GrpcReflectionV1.ErrorResponse()
                e.errorCode = Int32(StatusCode.notFound.rawValue)
                e.errorMessage = "\(what) not found"
                return .errorResponse(e)
            }
            var r = GrpcReflectionV1.FileDescriptorResponse()
            r.fileDescriptorProto = ProtoFileRegistry.closure(of: file).reversed().map(\.descriptor)
            return .fileDescriptorResponse(r)
        }
        switch request.messageRequest {
        case .listServices:
            var list = GrpcReflectionV1.ListServiceResponse()
            list.service = services.map {
                var s = GrpcReflectionV1.ServiceResponse()
                s.name = $0
                return s
            }
            response.messageResponse = .listServicesResponse(list)
        case .fileByFilename(let name):
            response.messageResponse = files(ProtoFileRegistry.file(named: name), "file \"\(name)\"")
        case .fileContainingSymbol(let symbol):
            response.messageResponse = files(ProtoFileRegistry.file(containingSymbol: symbol), "symbol \"\(symbol)\"")
        case .fileContainingExtension(let ext):
            var e = GrpcReflectionV1.ErrorResponse()
            e.errorCode = Int32(StatusCode.notFound.rawValue)
            e.errorMessage = "extension \(ext.extensionNumber) of \"\(ext.containingType)\" not found (no extensions are defined)"
            response.messageResponse = .errorResponse(e)
        case .allExtensionNumbersOfType(let type):
            var r = GrpcReflectionV1.ExtensionNumberResponse()
            r.baseTypeName = type
            response.messageResponse = .allExtensionNumbersResponse(r)
        case nil:
            var e = GrpcReflectionV1.ErrorResponse()
            e.errorCode = Int32(StatusCode.invalidArgument.rawValue)
            e.errorMessage = "empty reflection request"
            response.messageResponse = .errorResponse(e)
        }
        return response
    }
}
