extension CRValue {
    /// The value as JSON text.
    ///
    /// With `indent` nil the text is compact (`{"a":1,"b":[true]}`). With an
    /// indent it has exactly the layout of Go's
    /// `json.Indent(dst, src, "", strings.Repeat(" ", indent))`: an opening
    /// bracket ends its line, each member sits on its own line indented one
    /// level deeper as `"key": value`, the closing bracket is on its own line,
    /// and empty containers stay `{}` and `[]`. No trailing newline.
    ///
    /// Strings escape `"`, `\`, and control characters (`\n`, `\r`, `\t`,
    /// `\b`, `\f`, other ones as `\u00XX`); every other character, non-ASCII
    /// included, is written as UTF-8. Integers have no decimal point; doubles
    /// use the shortest text that reads back to the same value, formatted the
    /// way Go's `encoding/json` formats floats (`1e-7`, `1e+21`, `0.5`, `100`).
    /// NaN and the infinities, which JSON cannot carry, are written as `null`.
    public func jsonString(indent: Int? = nil) -> String {
        var out = ""
        let unit = indent.map { String(repeating: " ", count: max(0, $0)) }
        CRValue.writeJSON(self, into: &out, unit: unit, depth: 0, quote: CRValue.appendJSONQuoted)
        return out
    }

    /// The value as JSON text in the layout of ``jsonString(indent:)``, with
    /// strings and keys written by `quote` (which appends a quoted literal,
    /// quotes included).
    ///
    /// For writers that must escape strings another way, e.g. as Go's
    /// `json.Marshal` does with its HTML-safe escaping. `indentUnit` is the
    /// text of one level of indentation; nil gives the compact form.
    public func jsonString(indentUnit: String?, quote: (String, inout String) -> Void) -> String {
        var out = ""
        CRValue.writeJSON(self, into: &out, unit: indentUnit, depth: 0, quote: quote)
        return out
    }

    /// `flush`, when given, is called after every array element and object
    /// member with the text so far, which it may hand on and empty.
    static func writeJSON(
        _ value: CRValue, into out: inout String, unit: String?, depth: Int, quote: (String, inout String) -> Void,
        flush: ((inout String) -> Void)? = nil
    ) {
        func newline(_ level: Int) {
            guard let unit else { return }
            out.append("\n")
            for _ in 0..<level { out.append(unit) }
        }
        switch value {
        case .null: out.append("null")
        case .bool(let b): out.append(b ? "true" : "false")
        case .int(let i): out.append(String(i))
        case .double(let d): out.append(CRValue.goFloatText(d) ?? "null")
        case .string(let s): quote(s, &out)
        case .array(let items):
            if items.isEmpty {
                out.append("[]")
                return
            }
            out.append("[")
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(",") }
                newline(depth + 1)
                writeJSON(item, into: &out, unit: unit, depth: depth + 1, quote: quote, flush: flush)
                flush?(&out)
            }
            newline(depth)
            out.append("]")
        case .object(let pairs):
            if pairs.isEmpty {
                out.append("{}")
                return
            }
            out.append("{")
            for (i, pair) in pairs.enumerated() {
                if i > 0 { out.append(",") }
                newline(depth + 1)
                quote(pair.key, &out)
                out.append(unit == nil ? ":" : ": ")
                writeJSON(pair.value, into: &out, unit: unit, depth: depth + 1, quote: quote, flush: flush)
                flush?(&out)
            }
            newline(depth)
            out.append("}")
        }
    }

    /// Writes `CRCodec.list(items).jsonString(indent: indent)` where item `i`
    /// is `item(i)`, making and dropping one item at a time, in chunks of
    /// about `chunkSize` bytes handed to `emit`.
    public static func writeJSONList(count: Int, item: (Int) -> CRValue, indent: Int?, chunkSize: Int = 1 << 16, _ emit: (String) -> Void) {
        withoutActuallyEscaping(emit) { emit in
            let unit = indent.map { String(repeating: " ", count: max(0, $0)) }
            guard case .object(let pairs) = CRCodec.list([]) else { return }
            // Flushed inside an item too: one item (the device-plugin
            // ConfigMap of a whole fleet) can be hundreds of megabytes.
            let flush: (inout String) -> Void = { text in
                if text.utf8.count >= chunkSize {
                    emit(text)
                    text = ""
                }
            }
            var out = ""
            func newline(_ level: Int) {
                guard let unit else { return }
                out.append("\n")
                for _ in 0..<level { out.append(unit) }
            }
            out.append("{")
            for (i, pair) in pairs.enumerated() {
                if i > 0 { out.append(",") }
                newline(1)
                appendJSONQuoted(pair.key, into: &out)
                out.append(unit == nil ? ":" : ": ")
                guard pair.key == "items" && count > 0 else {
                    writeJSON(pair.value, into: &out, unit: unit, depth: 1, quote: appendJSONQuoted)
                    continue
                }
                out.append("[")
                for j in 0..<count {
                    if j > 0 { out.append(",") }
                    newline(2)
                    writeJSON(item(j), into: &out, unit: unit, depth: 2, quote: appendJSONQuoted, flush: flush)
                    flush(&out)
                }
                newline(1)
                out.append("]")
            }
            newline(0)
            out.append("}")
            emit(out)
        }
    }

    /// Appends `s` as a JSON string literal, quotes included.
    static func appendJSONQuoted(_ s: String, into out: inout String) {
        out.append("\"")
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out.append("\\\"")
            case "\\": out.append("\\\\")
            case "\n": out.append("\\n")
            case "\r": out.append("\\r")
            case "\t": out.append("\\t")
            case "\u{08}": out.append("\\b")
            case "\u{0C}": out.append("\\f")
            default:
                if scalar.value < 0x20 {
                    out.append("\\u00")
                    out.append(hexDigit(scalar.value >> 4))
                    out.append(hexDigit(scalar.value & 0xF))
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out.append("\"")
    }

    private static func hexDigit(_ v: UInt32) -> Character {
        Character(Unicode.Scalar(UInt8(v < 10 ? 0x30 + v : 0x61 + v - 10)))
    }

    /// A finite double as Go's `encoding/json` writes it: plain decimal for
    /// magnitudes in [1e-6, 1e21), otherwise exponent form with at least one
    /// exponent digit (`1e-7`, `1.5e+300`); nil for NaN and infinities.
    static func goFloatText(_ d: Double) -> String? {
        guard d.isFinite else { return nil }
        if d == 0 { return d.sign == .minus ? "-0" : "0" }
        // Swift's description is the shortest round-tripping text; take its
        // digits and exponent apart and lay them out again.
        var text = "\(d.magnitude)"
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            exponent = Int(text[text.index(after: e)...]) ?? 0
            text = String(text[..<e])
        }
        var integerPart = text
        var fraction = ""
        if let dot = text.firstIndex(of: ".") {
            integerPart = String(text[..<dot])
            fraction = String(text[text.index(after: dot)...])
        }
        // digits × 10^(pointPosition - digits.count)
        var digits = integerPart + fraction
        var pointPosition = integerPart.count + exponent
        while digits.count > 1, digits.first == "0" {
            digits.removeFirst()
            pointPosition -= 1
        }
        while digits.count > 1, digits.last == "0" { digits.removeLast() }
        let sign = d.sign == .minus ? "-" : ""
        let magnitude = d.magnitude
        if magnitude < 1e21 && magnitude >= 1e-6 {
            if pointPosition <= 0 {
                return sign + "0." + String(repeating: "0", count: -pointPosition) + digits
            }
            if pointPosition >= digits.count {
                return sign + digits + String(repeating: "0", count: pointPosition - digits.count)
            }
            let cut = digits.index(digits.startIndex, offsetBy: pointPosition)
            return sign + digits[..<cut] + "." + digits[cut...]
        }
        let exp = pointPosition - 1
        var mantissa = String(digits.prefix(1))
        if digits.count > 1 { mantissa += "." + digits.dropFirst() }
        return sign + mantissa + "e" + (exp < 0 ? "-" : "+") + String(abs(exp))
    }
}
