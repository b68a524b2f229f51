/// LZF decompression (the format Redis uses for long strings with `rdbcompression yes`).
enum LZF {
    static func decompress(_ input: [UInt8], expectedLength: Int) throws -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(expectedLength)
        var index = 0
        while index < input.count {
            let control = Int(input[index])
            index += 1
            if control < 32 {
                let length = control + 1
                guard index + length <= input.count else { throw RedisError.invalidRDB("an LZF string is corrupt (literal past the end)") }
                output.append(contentsOf: input[index..<(index + length)])
                index += length
            } else {
                var length = control >> 5
                if length == 7 {
                    guard index < input.count else { throw RedisError.invalidRDB("an LZF string is corrupt") }
                    length += Int(input[index])
                    index += 1
                }
                guard index < input.count else { throw RedisError.invalidRDB("an LZF string is corrupt") }
                let back = ((control & 0x1f) << 8) + Int(input[index]) + 1
                index += 1
                guard back <= output.count else { throw RedisError.invalidRDB("an LZF string is corrupt (reference before start)") }
                var from = output.count - back
                for _ in 0..<(length + 2) {
                    output.append(output[from])
                    from += 1
                }
            }
        }
        guard output.count == expectedLength else {
            throw RedisError.invalidRDB("an LZF string decoded to \(output.count) bytes, expected \(expectedLength)")
        }
        return output
    }
}
