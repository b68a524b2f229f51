import Testing
@Suite struct EnginePlaceholder { @Test func nothingYet() {} }
