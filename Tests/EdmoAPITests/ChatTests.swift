import EdmoCore
import EdmoService
import EdmoProviders
import EdmoStore
import EdmoSQLite
import EdmoAPI
import GRDB
import Foundation
import Testing

let knowledgeBase = #"""
{"entries":[
 {"title":"Application deadline","content":"Applications for the fall semester close on March 1.","questions":["When do applications close?","What is the last day to apply?"]},
 {"title":"Tuition fees","content":"Tuition is $12,000 per year for full-time students.","questions":["How much does it cost to study?"]},
 {"title":"Campus parking","content":"Student parking permits cost $150 per semester and are sold at the security office."},
 {"title":"Library hours","content":"The library is open from 8am to 10pm on weekdays and 10am to 6pm on weekends.","questions":["When is the library open?"]},
 {"title":"Transcript requests","content":"Order official transcripts online through the registrar portal; they arrive in 5 business days."},
 {"title":"Housing application","content":"Apply for on-campus housing after you accept your offer, through the housing portal."}
]}
"""#

struct ChatSetup {
    let r: Roles
    let assistant: String

    init(configure: (inout Config) -> Void = { _ in }, assistantJSON: String = #"{"name":"Admissions","firstMessage":"Hi! Ask me about admissions.","model":{"provider":"openai","model":"gpt-4o"},"voice":{}}"#) throws {
        r = try Roles(configure: configure)
        assistant = try #require(r.app.send("POST", "/api/assistants", json: assistantJSON, token: r.editor).json["id"] as? String)
        let imported = r.app.send("POST", "/api/assistants/\(assistant)/knowledge/import", json: knowledgeBase, token: r.editor)
        guard imported.status == 201 else { throw TestFailure("import failed: \(imported.bodyString)") }
    }

    func chat(_ message: String, previous: String? = nil, token: String? = nil) -> Response {
        var body: [String: String] = ["assistantId": assistant, "message": message]
        if let previous { body["previousChatId"] = previous }
        let json = String(decoding: try! JSONSerialization.data(withJSONObject: body), as: UTF8.self)
        return r.app.send("POST", "/api/chat", json: json, token: token ?? r.editor)
    }
}

@Suite struct ChatTests {
    @Test func theBuiltInEngineAnswersParaphrasesFromTheKnowledgeBase() throws {
        let s = try ChatSetup()
        let cases: [(String, String)] = [
            ("When is the application deadline?", "March 1"),
            ("what's the last day I can apply", "March 1"),
            ("How much is tuition?", "$12,000"),
            ("how expensive are the tuition fees per year", "$12,000"),
            ("Where do I buy a parking permit?", "security office"),
            ("what time does the library open on weekends", "10am to 6pm"),
            ("How can I request my official transcript?", "registrar portal"),
            ("how do I apply for housing on campus", "housing portal"),
        ]
        for (question, expected) in cases {
            let response = s.chat(question)
            #expect(response.status == 200, "\(question): \(response.bodyString)")
            #expect((response.json["message"] as? String)?.contains(expected) == true, "\(question) -> \(response.json["message"] ?? "")")
        }
        let gaps = s.r.app.send("GET", "/api/knowledge-gaps", token: s.r.editor)
        #expect(gaps.header("X-Total-Count") == "0")
    }

    @Test func anUnrelatedQuestionRecordsOneGapAndRepeatsRaiseItsPriority() throws {
        let s = try ChatSetup()
        let first = s.chat("Do you offer scholarships for athletes?")
        #expect((first.json["message"] as? String)?.hasPrefix("I don't know the answer to that yet") == true)
        var gaps = s.r.app.send("GET", "/api/knowledge-gaps?status=pending", token: s.r.viewer).jsonArray
        #expect(gaps.count == 1)
        #expect(gaps.first?["priority"] as? String == "low")
        #expect(gaps.first?["occurrences"] as? Int == 1)
        _ = s.chat("do you offer athletes scholarships")
        gaps = s.r.app.send("GET", "/api/knowledge-gaps", token: s.r.viewer).jsonArray
        #expect(gaps.count == 1)
        #expect(gaps.first?["priority"] as? String == "medium")
        _ = s.chat("Scholarships for athletes: do you offer them?")
        gaps = s.r.app.send("GET", "/api/knowledge-gaps?priority=high&assistantId=\(s.assistant)", token: s.r.viewer).jsonArray
        #expect(gaps.first?["occurrences"] as? Int == 3)

        // Answering the gap teaches the assistant.
        let gapId = try #require(gaps.first?["id"] as? String)
        let resolved = s.r.app.send("POST", "/api/knowledge-gaps/\(gapId)/resolve", json: #"{"answer":"Yes: athletic scholarships cover up to half of tuition."}"#, token: s.r.editor)
        #expect(resolved.json["status"] as? String == "resolved")
        #expect(resolved.json["resolvedEntryId"] is String)
        #expect((s.chat("Do you offer scholarships for athletes?").json["message"] as? String)?.contains("athletic scholarships") == true)
        #expect(s.r.app.send("POST", "/api/knowledge-gaps/\(gapId)/resolve", json: #"{"answer":"again"}"#, token: s.r.editor).status == 409)
        #expect(s.r.app.send("GET", "/api/knowledge-gaps?priority=urgent", token: s.r.viewer).status == 400)
    }

    @Test func turnsContinueOneConversationWithItsHistory() throws {
        let s = try ChatSetup()
        let first = s.chat("When is the application deadline?")
        let chatId = try #require(first.json["chatId"] as? String)
        #expect(first.json["timestamp"] as? String == "2024-01-01T10:00:00.000Z")
        #expect(first.json["cost"] is NSNull)
        s.r.app.clock.advance(30)
        let second = s.chat("How much is tuition?", previous: chatId)
        #expect(second.json["chatId"] as? String == chatId)
        s.r.app.clock.advance(30)
        _ = s.chat("Do you have a pool?", previous: chatId)
        let conversation = s.r.app.send("GET", "/api/chat/\(chatId)", token: s.r.viewer)
        let messages = try #require(conversation.json["messages"] as? [[String: Any]])
        #expect(messages.map { $0["role"] as? String } == ["assistant", "user", "assistant", "user", "assistant", "user", "assistant"])
        #expect(messages.first?["message"] as? String == "Hi! Ask me about admissions.")
        #expect(conversation.json["status"] as? String == "in-progress")

        let ended = s.r.app.send("POST", "/api/chat/\(chatId)/end", token: s.r.editor)
        #expect(ended.json["status"] as? String == "ended")
        #expect(ended.json["durationSeconds"] as? Int == 60)
        #expect(ended.json["endedReason"] as? String == "customer-ended-chat")
        #expect(ended.json["resolution"] as? String == "failed")  // the last question was not answered
        #expect((ended.json["summary"] as? String)?.contains("When is the application deadline?") == true)
    }

    @Test func badChatRequests() throws {
        let s = try ChatSetup()
        #expect(s.r.app.send("POST", "/api/chat", json: #"{"assistantId":"\#(s.assistant)"}"#, token: s.r.editor).error == "Missing required field: message")
        #expect(s.r.app.send("POST", "/api/chat", json: #"{"message":"hi"}"#, token: s.r.editor).error == "Missing required field: assistantId")
        #expect(s.chat("   ").status == 400)
        #expect(s.chat(String(repeating: "a", count: 4001)).status == 400)
        #expect(s.r.app.send("POST", "/api/chat", json: #"{"assistantId":"asst_nope","message":"hi"}"#, token: s.r.editor).status == 404)
        #expect(s.chat("hi", previous: "chat_nope").status == 404)
        #expect(s.chat("hi", token: s.r.viewer).status == 403)
        #expect(s.r.app.send("POST", "/api/chat", json: #"{"assistantId":"x","message":"hi"}"#).status == 401)
        // Another org can neither continue nor read the chat.
        let chatId = try #require(s.chat("When is the application deadline?").json["chatId"] as? String)
        let foreignAssistant = try #require(s.r.app.send("POST", "/api/assistants", json: assistantBody, token: s.r.otherAdmin).json["id"] as? String)
        #expect(s.r.app.send("POST", "/api/chat", json: #"{"assistantId":"\#(foreignAssistant)","message":"hi","previousChatId":"\#(chatId)"}"#, token: s.r.otherAdmin).status == 404)
        #expect(s.r.app.send("GET", "/api/chat/\(chatId)", token: s.r.otherAdmin).status == 404)
    }

    @Test func idleChatsEndWithALocalAnalysis() throws {
        let s = try ChatSetup { $0.chatIdleSeconds = 600 }
        let happy = try #require(s.chat("When is the application deadline?").json["chatId"] as? String)
        _ = s.chat("Great, thanks, that is very helpful!", previous: happy)
        let angry = try #require(s.chat("This is useless and terrible, I want to speak to a real person").json["chatId"] as? String)
        s.r.app.clock.advance(300)
        s.r.app.context.closeIdleConversations()
        #expect(s.r.app.send("GET", "/api/chat/\(happy)", token: s.r.viewer).json["status"] as? String == "in-progress")
        s.r.app.clock.advance(301)
        s.r.app.context.closeIdleConversations()
        let h = s.r.app.send("GET", "/api/chat/\(happy)", token: s.r.viewer).json
        #expect(h["status"] as? String == "ended")
        #expect(h["endedReason"] as? String == "idle-timeout")
        #expect(h["sentiment"] as? String == "positive")
        #expect(h["resolution"] as? String == "resolved")
        #expect(h["successEvaluation"] as? String == "true")
        let a = s.r.app.send("GET", "/api/chat/\(angry)", token: s.r.viewer).json
        #expect(a["sentiment"] as? String == "negative")
        #expect(a["resolution"] as? String == "escalated")
        #expect(a["successEvaluation"] as? String == "false")
        // A later turn reopens the conversation.
        #expect(s.chat("And tuition?", previous: happy).status == 200)
        #expect(s.r.app.send("GET", "/api/chat/\(happy)", token: s.r.viewer).json["status"] as? String == "in-progress")
    }

    @Test func knowledgeEntriesCRUDAndAllOrNothingImport() throws {
        let s = try ChatSetup()
        let base = "/api/assistants/\(s.assistant)/knowledge"
        #expect(s.r.app.send("GET", base, token: s.r.viewer).header("X-Total-Count") == "6")
        let created = s.r.app.send("POST", base, json: #"{"title":"Pool","content":"The pool opens at 6am.","questions":["Is there a swimming pool?"]}"#, token: s.r.editor)
        #expect(created.status == 201)
        let id = try #require(created.json["id"] as? String)
        #expect((s.chat("is there a swimming pool").json["message"] as? String) == "The pool opens at 6am.")
        let patched = s.r.app.send("PATCH", "\(base)/\(id)", json: #"{"content":"The pool opens at 7am."}"#, token: s.r.editor)
        #expect(patched.json["content"] as? String == "The pool opens at 7am.")
        #expect((s.chat("is there a swimming pool").json["message"] as? String) == "The pool opens at 7am.")
        #expect(s.r.app.send("DELETE", "\(base)/\(id)", token: s.r.editor).status == 200)
        #expect((s.chat("is there a swimming pool").json["message"] as? String)?.hasPrefix("I don't know") == true)

        let bad = s.r.app.send("POST", "\(base)/import", json: #"{"entries":[{"title":"A","content":"a"},{"title":"","content":"b"}]}"#, token: s.r.editor)
        #expect(bad.status == 400)
        #expect(bad.error == "Invalid value for field: entries[1].title (must not be empty)")
        #expect(s.r.app.send("GET", base, token: s.r.viewer).header("X-Total-Count") == "6")
        #expect(s.r.app.send("POST", base, json: #"{"title":"x","content":"y"}"#, token: s.r.viewer).status == 403)
        #expect(s.r.app.send("GET", base, token: s.r.otherAdmin).status == 404)
        #expect(s.r.app.send("GET", "\(base)/kb_nope", token: s.r.viewer).status == 404)
    }

    @Test func deletingAnAssistantKeepsItsConversationsForAnalytics() throws {
        let s = try ChatSetup()
        let chatId = try #require(s.chat("When is the application deadline?").json["chatId"] as? String)
        #expect(s.r.app.send("DELETE", "/api/assistants/\(s.assistant)", token: s.r.editor).status == 200)
        #expect(s.r.app.send("GET", "/api/chat/\(chatId)", token: s.r.viewer).status == 200)
    }
}

@Suite struct LanguageModelTests {
    @Test func openAIGetsTheModelSettingsPromptKnowledgeAndHistory() throws {
        let server = try OneShotServer(response: OneShotServer.http("200 OK", #"{"choices":[{"message":{"role":"assistant","content":"Applications close on March 1."}}]}"#))
        let s = try ChatSetup(
            configure: { $0.openAIBaseURL = server.url + "/v1"; $0.openAIKey = "sk-test"; $0.allowPrivateURLs = true },
            assistantJSON: #"{"model":{"provider":"openai","model":"gpt-4o-mini","temperature":0.3,"maxTokens":256,"messages":[{"role":"system","content":"You are the admissions assistant."}]},"voice":{},"firstMessage":"Hello!"}"#)
        let response = s.chat("When is the application deadline?")
        #expect(response.status == 200)
        #expect(response.json["message"] as? String == "Applications close on March 1.")
        let request = server.received.withLock { $0 }
        #expect(request.hasPrefix("POST /v1/chat/completions HTTP/1.1"))
        #expect(request.contains("Authorization: Bearer sk-test"))
        let body = try #require(try JSONSerialization.jsonObject(with: Data(request.components(separatedBy: "\r\n\r\n")[1].utf8)) as? [String: Any])
        #expect(body["model"] as? String == "gpt-4o-mini")
        #expect(body["temperature"] as? Double == 0.3)
        #expect(body["max_tokens"] as? Int == 256)
        let messages = try #require(body["messages"] as? [[String: String]])
        #expect(messages.map { $0["role"] } == ["system", "assistant", "user"])
        #expect(messages[0]["content"]?.hasPrefix("You are the admissions assistant.") == true)
        #expect(messages[0]["content"]?.contains("Applications for the fall semester close on March 1.") == true)
        #expect(messages[0]["content"]?.contains("[[UNKNOWN]]") == true)
        #expect(messages[1]["content"] == "Hello!")
    }

    @Test func anthropicGetsTheSystemPromptAndAlternatingTurns() throws {
        let server = try OneShotServer(response: OneShotServer.http("200 OK", #"{"content":[{"type":"text","text":"[[UNKNOWN]] I don't know that yet."}]}"#))
        let s = try ChatSetup(
            configure: { $0.anthropicBaseURL = server.url; $0.anthropicKey = "ak-test"; $0.allowPrivateURLs = true },
            assistantJSON: #"{"model":{"provider":"anthropic","model":"claude-3-5-haiku","temperature":0.5},"voice":{},"firstMessage":"Hello!"}"#)
        let response = s.chat("Do you have a pool?")
        #expect(response.json["message"] as? String == "I don't know that yet.")
        let request = server.received.withLock { $0 }
        #expect(request.hasPrefix("POST /v1/messages HTTP/1.1"))
        #expect(request.contains("x-api-key: ak-test"))
        #expect(request.contains("anthropic-version: 2023-06-01"))
        let body = try #require(try JSONSerialization.jsonObject(with: Data(request.components(separatedBy: "\r\n\r\n")[1].utf8)) as? [String: Any])
        #expect(body["model"] as? String == "claude-3-5-haiku")
        #expect(body["max_tokens"] as? Int == 1024)
        #expect((body["system"] as? String)?.contains("You opened the conversation with: Hello!") == true)
        #expect((body["messages"] as? [[String: String]])?.map { $0["role"] } == ["user"])
        // The marker made it a knowledge gap.
        #expect(s.r.app.send("GET", "/api/knowledge-gaps", token: s.r.viewer).header("X-Total-Count") == "1")
    }

    @Test func aModelOnThisHostIsRefusedUnlessAllowed() throws {
        let server = try OneShotServer(response: OneShotServer.http("200 OK", #"{"choices":[{"message":{"content":"hi"}}]}"#))
        let s = try ChatSetup(configure: { $0.openAIBaseURL = server.url; $0.openAIKey = "sk" })
        #expect(s.chat("When is the application deadline?").status == 502)
    }

    @Test func aModelFailureIs502AndTheMessageIsKept() throws {
        let server = try OneShotServer(response: OneShotServer.http("500 Internal Server Error", #"{"error":{"message":"overloaded"}}"#))
        let s = try ChatSetup(configure: { $0.openAIBaseURL = server.url; $0.openAIKey = "sk"; $0.allowPrivateURLs = true })
        let response = s.chat("When is the application deadline?")
        #expect(response.status == 502)
        #expect(response.error == "The assistant's language model did not answer; your message was saved. Try again later.")
        let chats = try s.r.app.database.pool.read { db in try String.fetchAll(db, sql: "SELECT id FROM conversations") }
        let messages = try s.r.app.context.chats.messages(conversationId: try #require(chats.first))
        #expect(messages.contains { $0.role == .user && $0.content == "When is the application deadline?" })
        #expect(messages.last?.role == .error)
    }
}

@Suite struct KnowledgeRulesTests {
    @Test func inflectionsMeet() {
        for group in [["deadlines", "deadline"], ["closing", "closes", "closed", "close"], ["fees", "fee"],
                      ["applies", "applied", "apply"], ["classes", "class"], ["libraries", "library"]] {
            #expect(Set(group.map(KnowledgeRules.stem)).count == 1, "\(group.map(KnowledgeRules.stem))")
        }
        #expect(KnowledgeRules.stem("bus") == "bus")
    }

    @Test func rephrasingsNormaliseToOneQuestion() {
        #expect(KnowledgeRules.normalize("When is the deadline?") == KnowledgeRules.normalize("the deadlines, when are they"))
        #expect(KnowledgeRules.normalize("Do you offer scholarships for athletes?") == KnowledgeRules.normalize("Scholarships for athletes: do you offer them?"))
        #expect(KnowledgeRules.normalize("parking") != KnowledgeRules.normalize("housing"))
        for term in KnowledgeRules.searchTerms(#"a" OR b* NEAR(c) ^d"#) {
            #expect(term.allSatisfy { $0.isLetter || $0.isNumber })
        }
    }

    @Test func smallTalkIsNotAGap() {
        #expect(KnowledgeRules.isSmallTalk("Thanks, that was really helpful!"))
        #expect(KnowledgeRules.isSmallTalk("hello"))
        #expect(!KnowledgeRules.isSmallTalk("thanks, and when is the deadline?"))
    }
}
