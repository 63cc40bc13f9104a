import Glibc

/// Turns `PREFIX_SOME_OPTION=value` environment variables into
/// `--some-option value` arguments for options the command line does not
/// already give (a flag on the command line wins).
public enum EnvironmentArguments {
    /// A variable that names no option.
    public struct UnknownVariable: Error, CustomStringConvertible {
        public var description: String
    }

    /// `arguments` (without the program name) with the environment's
    /// settings appended. `options` take a value; `flags` are booleans
    /// (`true`/`1`/`yes` turns one on, `false`/`0`/`no` leaves it off).
    public static func merge(
        _ arguments: [String], prefix: String, options: Set<String>, flags: Set<String>,
        environment: [String: String] = current()
    ) throws(UnknownVariable) -> [String] {
        var given = Set<String>()
        for a in arguments where a.hasPrefix("--") {
            given.insert(String(a.dropFirst(2).split(separator: "=", maxSplits: 1).first ?? ""))
        }
        var extra: [String] = []
        for (name, value) in environment.sorted(by: { $0.key < $1.key }) where name.hasPrefix(prefix) {
            let option = name.dropFirst(prefix.count).lowercased().replacingUnderscores()
            if given.contains(option) { continue }
            if options.contains(option) {
                extra += ["--\(option)", value]
            } else if flags.contains(option) {
                switch value.lowercased() {
                case "1", "true", "yes": extra.append("--\(option)")
                case "0", "false", "no", "": break
                default: throw UnknownVariable(description: "\(name)=\(value.prefix(40)): expected true or false")
                }
            } else {
                throw UnknownVariable(description: "\(name) names no option (there is no --\(option))")
            }
        }
        return arguments + extra
    }

    /// The process environment.
    public static func current() -> [String: String] {
        var env: [String: String] = [:]
        var p = environ
        while let entry = p.pointee {
            let s = String(cString: entry)
            if let eq = s.firstIndex(of: "=") {
                env[String(s[..<eq])] = String(s[s.index(after: eq)...])
            }
            p += 1
        }
        return env
    }
}

extension String {
    fileprivate func replacingUnderscores() -> String {
        String(map { $0 == "_" ? "-" : $0 })
    }
}
