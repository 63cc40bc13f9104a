import Testing

@Test func SriovProtoBuilds() {}
