/// The release of this project's binaries (controller, agent, mirror and
/// `sriovctl` are released together). The controller reports it in
/// `GetServerInfo`; the command-line tools print it with `--version`.
public enum SriovRelease {
    public static let version = "0.1.0"
}
