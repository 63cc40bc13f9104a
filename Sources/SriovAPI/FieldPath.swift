import Yams

extension Node {
    /// The one-based line of the node at a field path such as
    /// `spec.nicSelector.pfNames[1]` or `metadata.labels[a.b/c]`: the line of
    /// the last mapping key or sequence item on the path that exists.
    func line(at path: String) -> Int? {
        var node = self
        var line = mark?.line
        for token in FieldPath.tokens(path) {
            switch (node, token) {
            case (.mapping(let mapping), .key(let key)):
                guard let pair = mapping.first(where: { $0.key.scalar?.string == key }) else { return line }
                line = pair.key.mark?.line ?? line
                node = pair.value
            case (.sequence(let sequence), .index(let i)):
                guard i >= 0, i < sequence.count else { return line }
                node = sequence[sequence.index(sequence.startIndex, offsetBy: i)]
                line = node.mark?.line ?? line
            default:
                return line
            }
        }
        return line
    }
}

/// Splits the field paths used in ``FieldError`` into keys and indices.
enum FieldPath {
    enum Token: Equatable {
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
