import Testing

@Test func SriovRenderBuilds() {}
