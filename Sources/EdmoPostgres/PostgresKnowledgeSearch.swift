import EdmoCore
import EdmoStore
import Foundation

/// The knowledge search, ranked as SQLite's FTS5 ranks it, so that the built-in engine (which quotes the
/// first entry when it covers the question, else records a gap) decides the same on both stores.
///
/// `SQLiteChatStore.searchKnowledge` looks the terms up in `knowledge_terms` (entries holding each term,
/// over every assistant), leaves out terms too common to tell entries apart, and orders the entries
/// holding any other term by `bm25(knowledge_fts, 4.0, 1.0, 3.0)`. `ts_rank_cd` orders differently (it
/// has no inverse document frequency and no length normalisation: on a generated knowledge base it put
/// another entry first in more than half of the searches), so this store computes FTS5's bm25 itself
/// (`PostgresKnowledgeSearch.ranked`): the GIN index finds the entries holding a term and counts them,
/// and the scores come from the entries' search texts, whose space-separated words are FTS5's tokens.
///
/// Ties (equal scores) go to the older entry, then the smaller id. SQLite returns them in insertion
/// (rowid) order, which a table here does not keep: the two agree except between entries created in the
/// same millisecond (one import), where SQLite keeps the import's order.
extension PostgresChatStore {
    public func searchKnowledge(assistantId: String, terms: [String], limit: Int) throws -> [KnowledgeEntry] {
        // A term that FTS5's tokenizer would spell otherwise is never in its vocabulary: unknown on SQLite.
        let terms = terms.filter(PostgresKnowledgeSearch.isIndexedAsIs)
        guard !terms.isEmpty, limit != 0 else { return [] }
        return try database.read { connection in
            let counts = try connection.query(
                """
                SELECT (SELECT count(*) FROM knowledge_entries WHERE assistant_id = $1) AS total, t.term,
                       (SELECT count(*) FROM knowledge_entries WHERE search_vector @@ to_tsquery('simple', t.term)) AS entries
                FROM unnest($2::text[]) WITH ORDINALITY AS t(term, n) ORDER BY t.n
                """,
                [assistantId, PostgresTextArray(terms)])
            let total: Int = try counts.first?["total"] ?? 0
            let known = try counts.rows.map { (term: try $0["term"] as String, entries: try $0["entries"] as Int) }.filter { $0.entries > 0 }
            let chosen = PostgresKnowledgeSearch.chosen(known, entriesOfAssistant: total)
            guard !chosen.isEmpty else { return [] }

            // The statistics and the matches in one statement, so from one snapshot, as FTS5 reads them.
            return try connection.query(
                PostgresKnowledgeSearch.ranked(terms: chosen.count),
                [assistantId, PostgresFullText.anyOf(chosen.map(\.term)), PostgresTextArray(chosen.map(\.term)),
                 PostgresTextArray(chosen.map { String($0.entries) }), limit < 0 ? nil : limit]
            ).rows.map(KnowledgeEntry.init(postgres:))
        }
    }
}

enum PostgresKnowledgeSearch {
    /// Whether FTS5's unicode61 tokenizer (with its default remove_diacritics=1) keeps `term` as it is:
    /// only letters, digits and private-use characters (a combining mark splits a word there), and no
    /// Latin letter that loses its accent ("café" is indexed as "cafe"). `KnowledgeRules` keeps both, so
    /// on SQLite such a term is never found in the vocabulary and the search leaves it out.
    static func isIndexedAsIs(_ term: String) -> Bool {
        !term.isEmpty && term.unicodeScalars.allSatisfy { scalar in
            switch scalar.properties.generalCategory {
            case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
                 .decimalNumber, .letterNumber, .otherNumber, .privateUse:
                let latin = (0xC0...0x24F).contains(scalar.value) || (0x1E00...0x1EFF).contains(scalar.value)
                return !latin || String(scalar).decomposedStringWithCanonicalMapping.unicodeScalars.count == 1
            default:
                return false
            }
        }
    }

    /// The terms searched, as SQLite chooses them: scoring every entry that holds a very common term is the
    /// slow part of a search and tells entries apart least, so such terms are left out unless nothing else
    /// is left (then the rarest, the first of equals).
    static func chosen(_ known: [(term: String, entries: Int)], entriesOfAssistant total: Int) -> [(term: String, entries: Int)] {
        let common = max(50, total / 5)
        let chosen = known.filter { $0.entries <= common }
        if chosen.isEmpty, let rarest = known.min(by: { $0.entries < $1.entries }) { return [rarest] }
        return chosen
    }

    /// The ranking for `terms` searched terms (one statement text per number of terms, at most 32):
    /// $1 assistant, $2 the terms as a tsquery, $3 the terms, $4 the entries holding each, $5 the limit.
    ///
    /// FTS5's `bm25()` (ext/fts5/fts5_aux.c), operation for operation in double precision, so that entries
    /// tie here exactly when they tie on SQLite:
    ///
    ///     score = -(0 + Σ idf(t) · f(t)·(k1 + 1) / (f(t) + k1·(1 − b + b·D/avgdl))),  k1 = 1.2, b = 0.75
    ///     idf(t) = ln((N − n(t) + 0.5) / (n(t) + 0.5)), at least 1e-6
    ///
    /// f(t) is the entry's occurrences of t weighted by column (title 4, content 1, questions 3), D its
    /// tokens, N and avgdl the entries and mean tokens per entry of the whole table (every assistant, as
    /// FTS5's one index holds them), n(t) the entries holding t; the sum runs in the terms' order. Each
    /// term's part is spelled out: summed by an aggregate, the same arithmetic cost 15 µs an entry.
    /// `OFFSET 0` keeps each word list and frequency computed once per entry, not once per use.
    static func ranked(terms: Int) -> String {
        let k1 = "1.2::float8", b = "0.75::float8"
        let columns = [("search_title", "title_words", 4), ("search_content", "content_words", 1), ("search_questions", "question_words", 3)]
        let idf = (1...terms).map { i in
            let ratio = "ln(((corpus.n - ($4::bigint[])[\(i)]::float8) + 0.5::float8) / (($4::bigint[])[\(i)]::float8 + 0.5::float8))"
            return "CASE WHEN \(ratio) <= 0.0::float8 THEN 1e-6::float8 ELSE \(ratio) END AS idf\(i)"
        }
        let frequency = (1...terms).map { i in
            columns.map { "\($2).0::float8 * cardinality(array_positions(words.\($1), ($3::text[])[\(i)]))" }.joined(separator: " + ") + " AS f\(i)"
        }
        let parts = (1...terms).map { i in
            "stats.idf\(i) * ((w.f\(i) * (\(k1) + 1.0::float8)) / (w.f\(i) + \(k1) * ((1.0::float8 - \(b)) + (\(b) * w.d) / stats.avgdl)))"
        }
        return """
            WITH stats AS MATERIALIZED (
                SELECT corpus.tokens / corpus.n AS avgdl, \(idf.joined(separator: ", "))
                FROM (
                    SELECT count(*)::float8 AS n,
                           COALESCE(sum(\(columns.map { wordCount($0.0) }.joined(separator: " + "))), 0)::float8 AS tokens
                    FROM knowledge_entries
                ) AS corpus
            )
            SELECT \(ChatColumns.knowledgeEntry.split(separator: ",").map { "e." + $0.trimmingCharacters(in: .whitespaces) }.joined(separator: ", "))
            FROM knowledge_entries e
            CROSS JOIN LATERAL (
                SELECT \(columns.map { "string_to_array(e.\($0.0), ' ') AS \($0.1)" }.joined(separator: ", ")) OFFSET 0
            ) AS words
            CROSS JOIN LATERAL (
                SELECT (\(columns.map { "cardinality(words.\($0.1))" }.joined(separator: " + ")))::float8 AS d, \(frequency.joined(separator: ", "))
                OFFSET 0
            ) AS w
            CROSS JOIN stats
            WHERE e.assistant_id = $1 AND e.search_vector @@ to_tsquery('simple', $2)
                -- Matched through the index but holding none of the terms as a word: FTS5 would not match it.
                AND GREATEST(\((1...terms).map { "w.f\($0)" }.joined(separator: ", "))) > 0.0::float8
            ORDER BY -1.0::float8 * (0.0::float8 + \(parts.joined(separator: " + "))), e.created_at, e.id
            LIMIT $5
            """
    }

    /// Words of a space-separated search text, counted without splitting it (spaces + 1, 0 when empty).
    static func wordCount(_ column: String) -> String {
        "octet_length(\(column)) - octet_length(replace(\(column), ' ', '')) + (\(column) <> '')::int"
    }
}
