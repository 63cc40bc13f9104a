import Testing

@Test func SriovGRPCBuilds() {}
