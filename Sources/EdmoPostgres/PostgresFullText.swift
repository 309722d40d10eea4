/// How the knowledge search ranks on PostgreSQL. The vector is `knowledge_entries.search_vector`
/// (migrations/postgres/0003_chat.sql): the program's search terms labelled title A, alternative
/// questions B, content C. A search reads:
///
///     SELECT ... FROM knowledge_entries, to_tsquery('simple', $2) AS q
///     WHERE assistant_id = $1 AND search_vector @@ q
///     ORDER BY ts_rank_cd('{0, 0.25, 0.75, 1}', search_vector, q) DESC, id LIMIT $3
public enum PostgresFullText {
    /// `ts_rank_cd` weights for the labels D, C, B, A: content 0.25, questions 0.75, title 1, in the
    /// proportions 1 : 3 : 4 of the SQLite store's `bm25(knowledge_fts, 4.0, 1.0, 3.0)`.
    public static let rankWeights = "{0, 0.25, 0.75, 1}"

    /// A `to_tsquery` text matching entries that hold any of `terms` (as `KnowledgeRules.searchTerms`
    /// makes them). Anything but letters and digits is dropped, so a term is never read as query syntax.
    public static func anyOf(_ terms: [String]) -> String {
        terms.map { String($0.filter { $0.isLetter || $0.isNumber }) }.filter { !$0.isEmpty }.joined(separator: " | ")
    }
}
