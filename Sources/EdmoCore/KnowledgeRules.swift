import Foundation

/// How questions are compared: by their content words. Lowercase, split on anything but letters and
/// digits, drop stop words, strip common English endings (see `stem`).
public enum KnowledgeRules {
    /// A pending gap asked this many times becomes medium, then high priority.
    public static let mediumPriorityAt = 2
    public static let highPriorityAt = 3
    /// The built-in engine answers only when the best entry covers at least this share of the question's
    /// content words (and at least one).
    public static let minimumCoverage = 0.5

    static let stopWords: Set<String> = [
        "a", "about", "am", "an", "and", "any", "are", "as", "at", "be", "but", "by", "can", "could", "did", "do",
        "does", "for", "from", "get", "give", "had", "has", "have", "hello", "hey", "hi", "how", "i", "if", "in",
        "is", "it", "its", "know", "let", "like", "me", "my", "need", "of", "on", "or", "please", "so", "tell",
        "that", "the", "their", "there", "this", "to", "us", "was", "we", "were", "what", "when", "where",
        "which", "who", "why", "will", "with", "would", "you", "your", "want", "thanks", "thank", "should", "i'm",
        "them", "they", "it", "its", "some", "one", "also", "just", "still",
    ]

    /// Words a greeting or a thank-you is made of. A message is small talk when every word is one of these:
    /// "Hello there!", "Good morning", "Many thanks", "Hello, how are you?"; a question after a greeting
    /// ("Hi, when is the deadline?") has other words and is not.
    static let smallTalkWords: Set<String> = [
        // greetings
        "hi", "hello", "hey", "hiya", "howdy", "heya", "hallo", "greetings", "good", "morning", "afternoon",
        "evening", "day", "there", "everyone", "all", "folks", "how", "are", "you", "doing", "today", "is", "it",
        "going", "nice", "to", "meet", "again",
        // thanks and goodbyes
        "thanks", "thank", "thx", "ty", "tysm", "thankyou", "many", "cheers", "much", "so", "very", "a", "lot",
        "appreciate", "appreciated", "that", "was", "this", "the", "great", "perfect", "helpful", "ok", "okay",
        "cool", "awesome", "really", "got", "see", "bye", "goodbye", "have",
    ]

    /// Greetings and thanks: answered politely, never a knowledge gap.
    public static func isSmallTalk(_ text: String) -> Bool {
        let all = text.lowercased().split(whereSeparator: { !$0.isLetter }).map(String.init)
        return !all.isEmpty && all.allSatisfy(smallTalkWords.contains)
    }

    /// Words that make small talk a greeting (answered "Hello!") rather than thanks or a goodbye.
    static let greetingWords: Set<String> = [
        "hi", "hello", "hey", "hiya", "howdy", "heya", "hallo", "greetings", "morning", "afternoon", "evening",
    ]

    /// Small talk that greets (as opposed to thanking): "Hi there, thanks" greets.
    public static func isGreeting(_ text: String) -> Bool {
        text.lowercased().split(whereSeparator: { !$0.isLetter }).contains { greetingWords.contains(String($0)) }
    }

    public static func words(_ text: String) -> [String] {
        text.lowercased()
            .split(whereSeparator: { !($0.isLetter || $0.isNumber) })
            .map(String.init)
            .filter { !stopWords.contains($0) }
    }

    /// A light English stemmer: plurals, -ing/-ed, and a final e, so that "deadlines"/"deadline" and
    /// "closing"/"closes"/"closed"/"close" meet. Words of three letters or fewer stay as they are.
    public static func stem(_ word: String) -> String {
        var w = word
        guard w.count > 3 else { return w }
        if w.count > 4 && w.hasSuffix("ies") {
            w = String(w.dropLast(3)) + "y"
        } else if w.count > 4 && w.hasSuffix("es") && ["s", "x", "z", "ch", "sh"].contains(where: { w.dropLast(2).hasSuffix($0) }) {
            w = String(w.dropLast(2))
        } else if w.hasSuffix("s") && !w.hasSuffix("ss") && !w.hasSuffix("us") && !w.hasSuffix("is") {
            w = String(w.dropLast())
        }
        for suffix in ["ing", "ed"] where w.count > suffix.count + 2 && w.hasSuffix(suffix) {
            w = String(w.dropLast(suffix.count))
            if w.hasSuffix("i") { w = String(w.dropLast()) + "y" }
            break
        }
        if w.count > 3 && w.hasSuffix("e") { w = String(w.dropLast()) }
        return w
    }

    public static func stems(_ text: String) -> Set<String> { Set(words(text).map(stem)) }

    /// The key that makes two phrasings of one question the same gap: sorted unique stems.
    public static func normalize(_ question: String) -> String {
        let key = stems(question).sorted().joined(separator: " ")
        return key.isEmpty ? question.lowercased().trimmingCharacters(in: .whitespacesAndNewlines) : key
    }

    /// What is indexed for a text, and searched for a question: its content stems, space-separated.
    public static func searchText(_ text: String) -> String { words(text).map(stem).joined(separator: " ") }

    /// A question's search terms: its distinct content stems, at most 32. Only letters and digits, so a
    /// term can never be read as FTS5 query syntax.
    public static func searchTerms(_ question: String) -> [String] {
        Array(Array(stems(question)).sorted().prefix(32))
    }

    /// Share of the question's content stems that appear in the entry.
    public static func coverage(of question: String, by entry: KnowledgeEntry) -> Double {
        let asked = stems(question)
        guard !asked.isEmpty else { return 0 }
        let known = stems(entry.title + " " + entry.content + " " + entry.questions.joined(separator: " "))
        return Double(asked.intersection(known).count) / Double(asked.count)
    }
}
