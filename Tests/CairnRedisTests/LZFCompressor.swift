/// A small greedy LZF compressor (liblzf's format, as Redis writes with `rdbcompression yes`),
/// so synthetic RDBs can hold compressed strings. Quadratic search: for test inputs only.
enum LZFCompressor {
    static func compress(_ input: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        var literal: [UInt8] = []
        func flushLiteral() {
            var start = 0
            while start < literal.count {
                let count = min(32, literal.count - start)
                output.append(UInt8(count - 1))
                output += literal[start..<(start + count)]
                start += count
            }
            literal = []
        }
        var index = 0
        while index < input.count {
            var bestLength = 0, bestDistance = 0
            let longest = min(264, input.count - index)
            if longest >= 3 && index > 0 {
                for distance in 1...min(8192, index) {
                    var length = 0
                    while length < longest && input[index - distance + length] == input[index + length] { length += 1 }
                    if length > bestLength {
                        bestLength = length
                        bestDistance = distance
                        if length == longest { break }
                    }
                }
            }
            guard bestLength >= 3 else {
                literal.append(input[index])
                index += 1
                continue
            }
            flushLiteral()
            let length = bestLength - 2, offset = bestDistance - 1
            if length < 7 {
                output.append(UInt8(length << 5) | UInt8(offset >> 8))
            } else {
                output.append(UInt8(7 << 5) | UInt8(offset >> 8))
                output.append(UInt8(length - 7))
            }
            output.append(UInt8(offset & 0xff))
            index += bestLength
        }
        flushLiteral()
        return output
    }
}
