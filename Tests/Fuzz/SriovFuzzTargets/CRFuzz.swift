import SriovAPI
import SriovProto
import SriovRender

/// The `cr` target: the YAML and JSON codecs of every CR kind (the input is
/// one stream; JSON is YAML's subset and also read by the JSON reader when
/// it starts with `{` or `[`), with validation, then defaulting and
/// validation again, then for valid input the offline renderer.
///
/// Invariants: decoding either returns objects or throws ``CRParseError`` /
/// ``FieldErrorList`` (never another error, never a crash); defaulting does
/// not turn a valid object invalid; rendering the same objects twice gives
/// the same result.
enum CRFuzz {
    static func run(_ data: UnsafeRawBufferPointer) {
        let objects: [APIObject]
        do {
            objects = try CRCodec.decodeObjects(
                fromUTF8: Array(data), source: "fuzz", allowEmpty: true, validate: true)
        } catch is CRParseError {
            return
        } catch is FieldErrorList {
            return
        } catch {
            invariantBroken(.cr, "decoding threw \(type(of: error)), neither CRParseError nor FieldErrorList: \(error)")
        }
        for object in objects {
            let defaulted: APIObject
            switch object {
            case .policy(let p): defaulted = .policy(Defaults.applied(to: p))
            case .network(let n): defaulted = .network(Defaults.applied(to: n))
            default: continue
            }
            let errors = Validation.validate(defaulted)
            if !errors.isEmpty {
                invariantBroken(.cr, "\(object.kind) \"\(object.name)\" was valid, but not after defaulting: \(errors[0])")
            }
        }
        let first = OfflineRender.render(objects)
        let second = OfflineRender.render(objects)
        switch (first, second) {
        case (.success(let a), .success(let b)):
            if a.list != b.list || a.warnings != b.warnings {
                invariantBroken(.cr, "rendering the same \(objects.count) objects twice gave different output")
            }
            // The output is JSON a client reads back.
            _ = a.list.jsonString()
        case (.failure(let a), .failure(let b)):
            if a.problems != b.problems || a.omitted != b.omitted {
                invariantBroken(.cr, "rendering the same \(objects.count) objects twice gave different problems")
            }
        default:
            invariantBroken(.cr, "rendering the same \(objects.count) objects succeeded once and failed once")
        }
    }
}
