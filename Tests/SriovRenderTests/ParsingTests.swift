import Testing
@testable import SriovRender

/// The small parsers the renderer reproduces from the operator.
struct ParsingTests {
    @Test(arguments: [
        ("0-3", true, 0, 3), ("12-15", true, 12, 15), ("+1-2", true, 1, 2), ("1-2-3", true, 1, 2),
        ("a-c", false, 0, 0), ("3", false, 0, 0), ("1-", false, 0, 0), ("-1", false, 0, 0), ("", false, 0, 0),
    ])
    func vfRangeBounds(text: String, valid: Bool, first: Int, last: Int) {
        let bounds = VFRange.parseBounds(text)
        #expect((bounds != nil) == valid)
        if let bounds {
            #expect(bounds.0 == first && bounds.1 == last)
        }
    }

    @Test(arguments: [
        ("0-1", "1-2", true), ("0-1", "2-3", false), ("2-4", "0-1", false), ("0-5", "2-3", true),
        ("2-3", "0-5", true), ("3-3", "3-3", true), ("x-1", "0-1", false),
    ])
    func vfRangeOverlap(a: String, b: String, overlaps: Bool) {
        #expect(VFRange.overlaps(a, b) == overlaps)
    }

    @Test func pfNameEntries() throws {
        let plain = try #require(PFNameSelector("ens1f0"))
        #expect(plain.name == "ens1f0" && !plain.hasRange)
        let ranged = try #require(PFNameSelector("ens1f0#2-7"))
        #expect(ranged.name == "ens1f0" && ranged.first == 2 && ranged.last == 7)
        let extraHash = try #require(PFNameSelector("ens1f0#1-2#9"))
        #expect(extraHash.first == 1 && extraHash.last == 2)
        #expect(PFNameSelector("ens1f0#a-c") == nil)
        #expect(PFNameSelector.name(of: "ens1f0#a-c") == "ens1f0")
    }

    @Test(arguments: [
        ("openstack/NetworkID:3cbd1ab4-f6a1-4ea0-a1b7-b2b5b9c0e6a7", "openstack/NetworkID", "3cbd1ab4-f6a1-4ea0-a1b7-b2b5b9c0e6a7"),
        ("  aws/NetworkID : vpc-1 trailing", "aws/NetworkID", "vpc-1"),
        ("k:v:w", "k:v", "w"),
        ("k: ", "", ""),
        ("nocolon", "", ""),
    ])
    func netFilterParse(text: String, key: String, value: String) {
        let parsed = NetFilter.parse(text)
        if key.isEmpty {
            #expect(parsed == nil)
        } else {
            #expect(parsed == NetFilter.KeyValue(key: key, value: value))
        }
    }

    @Test func netFilterMatch() {
        #expect(NetFilter.matches("openstack/NetworkID:abc", "openstack/NetworkID: abc"))
        #expect(!NetFilter.matches("openstack/NetworkID:abc", "openstack/NetworkID:abd"))
        #expect(!NetFilter.matches("openstack/NetworkID:abc", ""))
    }
}
