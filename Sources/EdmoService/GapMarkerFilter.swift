import Foundation

/// `ChatEngine.interpret` for a reply that arrives in pieces: what it lets through, concatenated, is
/// exactly what `interpret` makes of the whole reply (the marker removed wherever it is, surrounding
/// whitespace trimmed), so a streamed answer shows and stores the same text as a collected one. It holds
/// back only what it cannot judge yet: a tail that may be the start of the marker, and whitespace that may
/// turn out to be trailing.
public struct GapMarkerFilter: Sendable {
    let marker: [Unicode.Scalar]
    /// Received, not yet judged: a possible start of the marker.
    private var undecided: [Unicode.Scalar] = []
    /// Whitespace after the last text let through, out only if more text follows.
    private var whitespace = ""
    private var started = false
    public private(set) var sawMarker = false

    public init(marker: String) { self.marker = Array(marker.unicodeScalars) }

    /// The text that `piece` makes certain.
    public mutating func feed(_ piece: String) -> String {
        undecided.append(contentsOf: piece.unicodeScalars)
        var judged: [Unicode.Scalar] = []
        var i = 0
        while i < undecided.count {
            if undecided[i] == marker[0] {
                let available = min(marker.count, undecided.count - i)
                if Array(undecided[i..<(i + available)]) == Array(marker[0..<available]) {
                    guard available == marker.count else { break }  // a possible marker, cut by the piece's end
                    sawMarker = true
                    i += marker.count
                    continue
                }
            }
            judged.append(undecided[i])
            i += 1
        }
        undecided.removeFirst(i)
        return trim(judged)
    }

    /// What is left at the end of the reply (trailing whitespace is dropped).
    public mutating func finish() -> String {
        let rest = trim(undecided)
        undecided = []
        whitespace = ""
        return rest
    }

    private mutating func trim(_ scalars: [Unicode.Scalar]) -> String {
        var out = ""
        for scalar in scalars {
            if CharacterSet.whitespacesAndNewlines.contains(scalar) {
                if started { whitespace.unicodeScalars.append(scalar) }
            } else {
                started = true
                out += whitespace
                whitespace = ""
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
