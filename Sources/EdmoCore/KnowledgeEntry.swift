/// One entry of an assistant's knowledge base: what the built-in engine searches and quotes.
public struct KnowledgeEntry: Sendable, Equatable {
    public var id: String
    public var orgId: String
    public var assistantId: String
    public var title: String
    public var content: String
    public var questions: [String]
    public var createdAt: String
    public var updatedAt: String
    /// See `DocumentRecord.version`.
    public var version: Int = 1

    public init(
        id: String, orgId: String, assistantId: String, title: String, content: String, questions: [String],
        createdAt: String, updatedAt: String, version: Int = 1
    ) {
        self.id = id
        self.orgId = orgId
        self.assistantId = assistantId
        self.title = title
        self.content = content
        self.questions = questions
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.version = version
    }
}
