extension Sequence {
    /// The sum of `size` over the elements, each counted as at least 0, and Int64.max where the
    /// sum would pass it, instead of a trap: for totals of sizes read from input (a catalog, a
    /// store's listing) that are only reported, never used to decide what is read or deleted.
    public func saturatingSum(of size: (Element) -> Int64) -> Int64 {
        var total: Int64 = 0
        for element in self {
            let (sum, overflow) = total.addingReportingOverflow(Swift.max(0, size(element)))
            if overflow { return .max }
            total = sum
        }
        return total
    }
}
