import Testing

@Test func SriovAPIBuilds() {}
