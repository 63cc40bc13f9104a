/// Bounds on the work that reading, decoding and validating objects may do,
/// so that no input — however hostile or careless — crashes the process,
/// takes minutes or gigabytes, or prints megabytes of errors.
///
/// Every limit is checked *before* the work it bounds: the size of a file
/// before it is parsed, the size of a document and of a scalar while libyaml
/// reads them, the nesting and alias expansion of a YAML document at each
/// alias (before anything is expanded), the number of objects in a List
/// before its items are decoded. Each one fails with an error naming the
/// limit, where it was hit and how large the input was.
///
/// The CLI (`sriovctl render`) and the controller's Apply path use the same
/// ``defaults``; the controller also bounds what it stores
/// (``maxStoredPolicies``, ``maxStoredNetworks``).
public struct DecodeLimits: Sendable, Hashable {
    /// Largest input text (one file, or one request body), in bytes.
    public var maxInputBytes: Int
    /// Largest YAML document of a stream (or the JSON document), in bytes.
    public var maxDocumentBytes: Int
    /// Deepest nesting of mappings and sequences, counted on the value as
    /// aliases expand it (so anchors cannot compose past it), for YAML and
    /// JSON alike.
    public var maxDepth: Int
    /// Most aliases (`*name`) in one YAML document.
    public var maxAliases: Int
    /// How many nodes aliases may add to a document, as a multiple of the
    /// nodes written out in it (plus ``aliasExpansionAllowance``).
    public var maxAliasExpansionRatio: Int
    /// Nodes aliases may add to any document whatever its size, so that
    /// small documents can share a few anchored blocks.
    public var aliasExpansionAllowance: Int
    /// Most objects in one `List` (its `items`), nested Lists included.
    public var maxListItems: Int
    /// Longest scalar (string, number or key), in bytes. Object names
    /// and label values have Kubernetes' own, smaller limits (253 and 63),
    /// which validation checks.
    public var maxScalarBytes: Int
    /// Most errors returned or printed; the rest are counted
    /// ("and N more").
    public var maxErrors: Int
    /// Most characters of a bad value quoted back in an error message.
    public var maxQuotedValueLength: Int
    /// Most SriovNetworkNodePolicy objects a store (or one render) holds.
    public var maxStoredPolicies: Int
    /// Most SriovNetwork objects a store (or one render) holds.
    public var maxStoredNetworks: Int

    public init(
        maxInputBytes: Int = 256 << 20, maxDocumentBytes: Int = 256 << 20, maxDepth: Int = 512,
        maxAliases: Int = 10_000, maxAliasExpansionRatio: Int = 10, aliasExpansionAllowance: Int = 10_000,
        maxListItems: Int = 1_000_000, maxScalarBytes: Int = 1 << 20, maxErrors: Int = 100,
        maxQuotedValueLength: Int = 64, maxStoredPolicies: Int = 20_000, maxStoredNetworks: Int = 20_000
    ) {
        self.maxInputBytes = maxInputBytes
        self.maxDocumentBytes = maxDocumentBytes
        self.maxDepth = maxDepth
        self.maxAliases = maxAliases
        self.maxAliasExpansionRatio = maxAliasExpansionRatio
        self.aliasExpansionAllowance = aliasExpansionAllowance
        self.maxListItems = maxListItems
        self.maxScalarBytes = maxScalarBytes
        self.maxErrors = maxErrors
        self.maxQuotedValueLength = maxQuotedValueLength
        self.maxStoredPolicies = maxStoredPolicies
        self.maxStoredNetworks = maxStoredNetworks
    }

    /// The defaults, each chosen as follows:
    ///
    /// - ``maxInputBytes`` and ``maxDocumentBytes``: 256 MiB. `kubectl get
    ///   nodes -o yaml` of a 10,000-node cluster is about 100–200 MB in one
    ///   List document; the controller passes its RPC message limit instead.
    /// - ``maxDepth``: 512, the JSON reader's limit, now also YAML's (libyaml
    ///   alone stops at 1000 per parse, which aliases could compose past).
    ///   Real objects nest fewer than 15 levels.
    /// - ``maxAliases``: 10,000, and aliases may add at most
    ///   ``maxAliasExpansionRatio`` 10 × the document's own nodes plus an
    ///   ``aliasExpansionAllowance`` of 10,000 nodes: shared label blocks pass,
    ///   "billion laughs" (10⁹ nodes from 100 lines) fails at once, as
    ///   Kubernetes' "excessive aliasing" check does.
    /// - ``maxListItems``: 1,000,000 objects, ten times a 100,000-node List.
    /// - ``maxScalarBytes``: 1 MiB, four times Kubernetes' 256 KiB limit on
    ///   all annotations of an object together.
    /// - ``maxErrors``: 100 errors, then "and N more".
    /// - ``maxQuotedValueLength``: 64 characters of a bad value in a message.
    /// - ``maxStoredPolicies`` and ``maxStoredNetworks``: 20,000 each (a
    ///   policy per rack or NIC model across a very large cluster); beyond
    ///   that a render's output grows past what one controller should hold.
    public static var defaults: Self { Self() }

    /// The aliases-added node budget of a document with `nodes` nodes written
    /// out in it.
    func aliasExpansionBudget(nodes: Int) -> Int {
        let (scaled, overflow) = nodes.multipliedReportingOverflow(by: maxAliasExpansionRatio)
        return overflow ? Int.max : aliasExpansionAllowance &+ scaled
    }
}

/// Byte counts for messages: `1536 bytes`, `2.0 MiB`.
enum ByteCount {
    static func text(_ n: Int) -> String {
        if n < 1 << 20 { return "\(n) bytes" }
        let mib = Double(n) / Double(1 << 20)
        return "\((mib * 10).rounded() / 10) MiB"
    }
}
