/// Splits the field paths used in ``FieldError`` into keys and indices.
enum FieldPath {
    enum Token: Hashable {
        case key(String)
        case index(Int)
    }

    static func tokens(_ path: String) -> [Token] {
        var tokens: [Token] = []
        var current = ""
        var i = path.startIndex
        func flush() {
            if !current.isEmpty { tokens.append(.key(current)) }
            current = ""
        }
        while i < path.endIndex {
            let c = path[i]
            if c == "." {
                flush()
            } else if c == "[" {
                flush()
                guard let close = path[i...].firstIndex(of: "]") else { break }
                let inner = String(path[path.index(after: i)..<close])
                if let n = Int(inner), !inner.isEmpty, inner.allSatisfy(\.isNumber) {
                    tokens.append(.index(n))
                } else {
                    tokens.append(.key(inner))
                }
                i = close
            } else {
                current.append(c)
            }
            i = path.index(after: i)
        }
        flush()
        return tokens
    }
}
