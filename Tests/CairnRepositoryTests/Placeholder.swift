import Testing
@Suite struct RepositoryPlaceholder { @Test func nothingYet() {} }
